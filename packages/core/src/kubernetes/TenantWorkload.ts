import { type KubeObject, Labels, ownedLabels } from "./KubeObject.ts"

export interface WorkloadOptions {
  readonly tenant: string
  readonly namespace: string
  readonly image: string
  /** 1 while running, 0 while suspended (the volume stays). */
  readonly replicas: 0 | 1
  readonly serviceAccountName: string
  readonly resources: { readonly cpu: string; readonly memory: string }
  /** The ConfigMap holding `openclaw.json`, and a hash of it so a config change rolls the pod. */
  readonly config: { readonly configMap: string; readonly hash: string }
  /** Where the tenant's state lives: a volume claim, or a CSI volume (a GCS bucket through GCS Fuse). */
  readonly state: { readonly claim: string } | { readonly csi: Readonly<Record<string, unknown>> }
  /** Extra pod annotations (GCS Fuse sidecar injection, for one). */
  readonly podAnnotations?: Readonly<Record<string, string>> | undefined
  /** Environment variables wired from Secrets, by reference only. */
  readonly secretEnv: ReadonlyArray<{ readonly env: string; readonly secret: string; readonly key: string }>
  readonly gatewayPort: number
  /**
   * The tenant agent: one JavaScript file in a ConfigMap, run by the Node inside the OpenClaw image,
   * so clawfleet ships no image of its own. It serves `port` to the platform gateway.
   */
  readonly agent?: { readonly configMap: string; readonly file: string; readonly port: number } | undefined
  /** Where the granted skills' descriptors are mounted (one ConfigMap each), for the agent to sync. */
  readonly skills?: ReadonlyArray<string> | undefined
}

const UID = 10001

/** What the tenant agent container asks for, on top of the tenant's own size (quota must allow both). */
export const AGENT_RESOURCES = { cpu: "100m", memory: "128Mi" } as const

/** Pod Security Standards "restricted", plus a read-only root filesystem. */
export const restrictedContainerSecurity = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: UID,
  runAsGroup: UID,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" }
} as const

/** The pod-level half of "restricted": the same non-root user, whose group owns mounted volumes. */
export const restrictedPodSecurity = {
  runAsNonRoot: true,
  runAsUser: UID,
  runAsGroup: UID,
  fsGroup: UID,
  seccompProfile: { type: "RuntimeDefault" }
} as const

// The gateway listens on loopback only, which kubelet's HTTP probes cannot reach, so the probe runs
// inside the container. It passes only on a 200 with a JSON body: the Control UI answers unknown
// paths with 200 and HTML, and must never pass for a ready gateway.
const probe = (port: number, path: string) => ({
  exec: {
    command: [
      "node",
      "-e",
      `fetch("http://127.0.0.1:${port}${path}").then((r) => process.exit(r.status === 200 && (r.headers.get("content-type") ?? "").includes("json") ? 0 : 1), () => process.exit(1))`
    ]
  },
  timeoutSeconds: 5
})

export const workloadLabels = (tenant: string) => ({ [Labels.tenant]: tenant, [Labels.component]: "workload" })

export const deployment = (o: WorkloadOptions): KubeObject => {
  const skillVolumes = (o.skills ?? []).map((name) => ({ name: `skill-${name}`, configMap: { name: `skill-${name}` } }))
  const gateway = {
    name: "openclaw",
    image: o.image,
    command: ["openclaw", "gateway", "run", "--bind", "loopback", "--port", String(o.gatewayPort), "--auth", "token"],
    env: [
      { name: "HOME", value: "/state/home" },
      { name: "OPENCLAW_STATE_DIR", value: "/state/openclaw" },
      { name: "OPENCLAW_CONFIG_PATH", value: "/config/openclaw.json" },
      ...o.secretEnv.map((s) => ({ name: s.env, valueFrom: { secretKeyRef: { name: s.secret, key: s.key } } }))
    ],
    resources: { requests: { ...o.resources }, limits: { ...o.resources } },
    securityContext: restrictedContainerSecurity,
    volumeMounts: [
      { name: "state", mountPath: "/state" },
      { name: "config", mountPath: "/config", readOnly: true },
      { name: "tmp", mountPath: "/tmp" }
    ],
    // Cold start measured at 14–18 s: allow two minutes before liveness takes over.
    startupProbe: { ...probe(o.gatewayPort, "/startupz"), periodSeconds: 5, failureThreshold: 24 },
    readinessProbe: { ...probe(o.gatewayPort, "/readyz"), periodSeconds: 10, failureThreshold: 3 },
    livenessProbe: { ...probe(o.gatewayPort, "/healthz"), periodSeconds: 20, failureThreshold: 3 }
  }
  const agent =
    o.agent === undefined
      ? []
      : [
          {
            name: "tenant-agent",
            image: o.image,
            command: ["node", `/agent/${o.agent.file}`],
            env: [
              { name: "CLAWFLEET_GATEWAY_URL", value: `http://127.0.0.1:${o.gatewayPort}` },
              { name: "CLAWFLEET_AGENT_PORT", value: String(o.agent.port) },
              { name: "CLAWFLEET_SKILLS_DIR", value: "/state/skills" },
              ...o.secretEnv.map((s) => ({ name: s.env, valueFrom: { secretKeyRef: { name: s.secret, key: s.key } } }))
            ],
            ports: [{ name: "agent", containerPort: o.agent.port, protocol: "TCP" }],
            resources: { requests: { ...AGENT_RESOURCES }, limits: { ...AGENT_RESOURCES } },
            securityContext: restrictedContainerSecurity,
            volumeMounts: [
              { name: "state", mountPath: "/state" },
              { name: "agent", mountPath: "/agent", readOnly: true },
              ...skillVolumes.map((v) => ({ name: v.name, mountPath: `/skills/${v.name.slice("skill-".length)}`, readOnly: true }))
            ],
            readinessProbe: { httpGet: { path: "/readyz", port: o.agent.port }, periodSeconds: 10 },
            livenessProbe: { httpGet: { path: "/healthz", port: o.agent.port }, periodSeconds: 20 }
          }
        ]
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "openclaw", namespace: o.namespace, labels: ownedLabels(o.tenant, "workload") },
    spec: {
      replicas: o.replicas,
      // One volume, one writer: the old pod must be gone before the new one mounts it.
      strategy: { type: "Recreate" },
      selector: { matchLabels: workloadLabels(o.tenant) },
      template: {
        metadata: {
          labels: { ...ownedLabels(o.tenant, "workload"), ...workloadLabels(o.tenant) },
          annotations: { ...o.podAnnotations, "clawfleet.dev/config-hash": o.config.hash }
        },
        spec: {
          serviceAccountName: o.serviceAccountName,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: restrictedPodSecurity,
          containers: [gateway, ...agent],
          volumes: [
            "claim" in o.state
              ? { name: "state", persistentVolumeClaim: { claimName: o.state.claim } }
              : { name: "state", csi: { ...o.state.csi } },
            { name: "config", configMap: { name: o.config.configMap } },
            { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
            ...(o.agent === undefined ? [] : [{ name: "agent", configMap: { name: o.agent.configMap } }]),
            ...(o.agent === undefined ? [] : skillVolumes)
          ]
        }
      }
    }
  }
}

export const service = (tenant: string, namespace: string, port: number): KubeObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "openclaw", namespace, labels: ownedLabels(tenant, "service") },
  spec: {
    type: "ClusterIP",
    selector: workloadLabels(tenant),
    ports: [{ name: "agent", port, targetPort: "agent", protocol: "TCP" }]
  }
})

/** A Traefik-compatible Ingress (K3s's default controller) at the tenant's own host name. */
export const ingress = (
  tenant: string,
  namespace: string,
  o: {
    readonly host: string
    readonly port: number
    readonly className?: string | undefined
    readonly tlsSecret?: string | undefined
    readonly annotations?: Readonly<Record<string, string>> | undefined
  }
): KubeObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: {
    name: "openclaw",
    namespace,
    labels: ownedLabels(tenant, "ingress"),
    ...(o.annotations !== undefined ? { annotations: { ...o.annotations } } : {})
  },
  spec: {
    ...(o.className !== undefined ? { ingressClassName: o.className } : {}),
    ...(o.tlsSecret !== undefined ? { tls: [{ hosts: [o.host], secretName: o.tlsSecret }] } : {}),
    rules: [
      {
        host: o.host,
        http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "openclaw", port: { number: o.port } } } }] }
      }
    ]
  }
})
