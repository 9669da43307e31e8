import { type KubeObject, ownedLabels } from "./KubeObject.ts"

/** Pods elsewhere in the cluster, picked by namespace name and pod labels. */
export interface PeerPods {
  readonly namespace: string
  readonly podLabels: Readonly<Record<string, string>>
  /** TCP ports they serve; UDP is spelled out where it is needed (DNS). */
  readonly ports: ReadonlyArray<number>
}

export interface NetworkPolicyOptions {
  /** Cluster DNS. Default: kube-system pods labelled `k8s-app: kube-dns` (K3s's CoreDNS too). */
  readonly dns?: Omit<PeerPods, "ports"> | undefined
  /** The platform's token proxy, egress proxy and tool broker: the only other places a tenant may call. */
  readonly platform: ReadonlyArray<PeerPods>
  /** The ingress controller or platform gateway: the only pods that may call into the tenant. */
  readonly gateway: Omit<PeerPods, "ports">
  /** The port the tenant pod serves the gateway on. */
  readonly ingressPort: number
}

const peer = (p: Omit<PeerPods, "ports">) => ({
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": p.namespace } },
  podSelector: { matchLabels: { ...p.podLabels } }
})

/**
 * Default deny both ways, then one policy per allowed path. Policies add up, so each allowance
 * stays readable on its own and a drifted one is repaired without touching the others.
 */
export const networkPolicies = (tenant: string, namespace: string, o: NetworkPolicyOptions): ReadonlyArray<KubeObject> => {
  const policy = (name: string, spec: Record<string, unknown>): KubeObject => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace, labels: ownedLabels(tenant, "network") },
    spec: { podSelector: {}, ...spec }
  })
  const dns = o.dns ?? { namespace: "kube-system", podLabels: { "k8s-app": "kube-dns" } }
  return [
    policy("default-deny", { policyTypes: ["Ingress", "Egress"] }),
    policy("allow-dns", {
      policyTypes: ["Egress"],
      egress: [
        {
          to: [peer(dns)],
          ports: [
            { protocol: "UDP", port: 53 },
            { protocol: "TCP", port: 53 }
          ]
        }
      ]
    }),
    policy("allow-platform", {
      policyTypes: ["Egress"],
      egress: o.platform.map((p) => ({ to: [peer(p)], ports: p.ports.map((port) => ({ protocol: "TCP", port })) }))
    }),
    policy("allow-gateway", {
      policyTypes: ["Ingress"],
      ingress: [{ from: [peer(o.gateway)], ports: [{ protocol: "TCP", port: o.ingressPort }] }]
    })
  ]
}
