import { type KubeObject, restrictedRules, restrictedViolations } from "@clawfleet/core/kubernetes"
import { describe, expect, it } from "@effect/vitest"
import { InstallOptionsError, installManifests, printManifests } from "../../src/ops/installManifests.ts"

const options = {
  namespace: "clawfleet",
  image: "ghcr.io/clawfleet/server@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  publicUrl: "https://clawfleet.example.com",
  configSecretName: "clawfleet-config"
}
const objects = installManifests(options)
const find = (kind: string) => objects.find((o) => o.kind === kind) as KubeObject & Record<string, any>

// The upstream schema of each kind, as the API server would check it.
const models = async (kind: string) => {
  const core = await import("kubernetes-models/v1")
  const apps = await import("kubernetes-models/apps/v1")
  const policy = await import("kubernetes-models/policy/v1")
  const net = await import("kubernetes-models/networking.k8s.io/v1")
  const rbac = await import("kubernetes-models/rbac.authorization.k8s.io/v1")
  const byKind: Record<string, new (o: never) => { validate(): void }> = {
    Namespace: core.Namespace,
    ServiceAccount: core.ServiceAccount,
    Service: core.Service,
    Deployment: apps.Deployment,
    PodDisruptionBudget: policy.PodDisruptionBudget,
    NetworkPolicy: net.NetworkPolicy,
    ClusterRole: rbac.ClusterRole,
    ClusterRoleBinding: rbac.ClusterRoleBinding
  }
  const model = byKind[kind]
  if (model === undefined) throw new Error(`no upstream schema wired for ${kind}`)
  return model
}

describe("installManifests", () => {
  it("makes the namespace, identity, RBAC, workload, disruption budget, service and network policy, in that order", () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toStrictEqual([
      "Namespace/clawfleet",
      "ServiceAccount/clawfleet-server",
      "ClusterRole/clawfleet-server-clawfleet",
      "ClusterRoleBinding/clawfleet-server-clawfleet",
      "Deployment/clawfleet-server",
      "PodDisruptionBudget/clawfleet-server",
      "Service/clawfleet-server",
      "NetworkPolicy/clawfleet-server"
    ])
    expect(installManifests(options)).toStrictEqual(objects)
  })

  it("gives objects that validate against the upstream schemas", async () => {
    for (const o of objects) {
      const Model = await models(o.kind)
      expect(() => new Model(o as never).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow()
    }
  })

  it("runs a pod that meets Pod Security 'restricted', rule by rule, with a read-only root filesystem", () => {
    const pod = find("Deployment").spec.template.spec
    const violations = restrictedViolations(pod)
    for (const rule of restrictedRules)
      expect(
        violations.filter((v) => v.rule === rule),
        rule
      ).toStrictEqual([])
    const [server] = pod.containers
    expect(server.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" }
    })
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } })
  })

  it("enforces 'restricted' on its namespace", () => {
    expect(find("Namespace").metadata.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/enforce-version": "latest"
    })
  })

  it("keeps two replicas across nodes through drains and rollouts, probed and sized", () => {
    const d = find("Deployment")
    expect(d.spec.replicas).toBe(2)
    expect(d.spec.strategy.rollingUpdate).toStrictEqual({ maxUnavailable: 0, maxSurge: 1 })
    const spread = d.spec.template.spec.topologySpreadConstraints
    expect(spread[0]).toMatchObject({ topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule", maxSkew: 1 })
    expect(spread[0].labelSelector.matchLabels).toStrictEqual(d.spec.selector.matchLabels)
    const [server] = d.spec.template.spec.containers
    expect(server.livenessProbe.httpGet).toStrictEqual({ path: "/healthz", port: "http" })
    expect(server.readinessProbe.httpGet).toStrictEqual({ path: "/readyz", port: "http" })
    expect(server.resources.requests).toStrictEqual({ cpu: "250m", memory: "512Mi" })
    expect(server.resources.limits.memory).toBe("1Gi")
    expect(find("PodDisruptionBudget").spec).toMatchObject({ minAvailable: 1, selector: d.spec.selector })
    expect(installManifests({ ...options, replicas: 3 }).find((o) => o.kind === "Deployment")).toMatchObject({ spec: { replicas: 3 } })
  })

  it("takes its configuration from the Secret, read-only, and its public URL from the options", () => {
    const pod = find("Deployment").spec.template.spec
    const [server] = pod.containers
    expect(pod.volumes).toContainEqual({ name: "config", secret: { secretName: "clawfleet-config", defaultMode: 0o440 } })
    expect(server.volumeMounts).toContainEqual({ name: "config", mountPath: "/etc/clawfleet", readOnly: true })
    expect(server.args).toStrictEqual(["--config", "/etc/clawfleet/config.json"])
    expect(server.env).toContainEqual({ name: "CLAWFLEET_PUBLIC_URL", value: "https://clawfleet.example.com" })
    expect(server.env).toContainEqual({ name: "CLAWFLEET_KEY_ENCRYPTION_KEY_FILE", value: "/etc/clawfleet/key-encryption-key" })
    expect(server.envFrom).toStrictEqual([{ secretRef: { name: "clawfleet-config-env", optional: true } }])
  })

  it("mounts an API token in the server's pod only: the account itself has none", () => {
    expect(find("ServiceAccount").automountServiceAccountToken).toBe(false)
    expect(find("Deployment").spec.template.spec).toMatchObject({
      serviceAccountName: "clawfleet-server",
      automountServiceAccountToken: true
    })
    expect(find("ClusterRoleBinding")).toMatchObject({
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "clawfleet-server-clawfleet" },
      subjects: [{ kind: "ServiceAccount", name: "clawfleet-server", namespace: "clawfleet" }]
    })
  })

  it("lets traffic in on the HTTP port only, and serves that port", () => {
    const policy = find("NetworkPolicy")
    expect(policy.spec).toStrictEqual({
      podSelector: { matchLabels: find("Deployment").spec.selector.matchLabels },
      policyTypes: ["Ingress"],
      ingress: [{ ports: [{ protocol: "TCP", port: 8080 }] }]
    })
    expect(find("Deployment").spec.template.spec.containers[0].ports).toStrictEqual([
      { name: "http", containerPort: 8080, protocol: "TCP" }
    ])
    expect(find("Service").spec.ports).toStrictEqual([{ name: "http", port: 80, targetPort: "http", protocol: "TCP", appProtocol: "http" }])
  })

  it("never labels its objects as the tenant objects the provider prunes", () => {
    for (const o of objects) expect(o.metadata.labels?.["app.kubernetes.io/managed-by"], `${o.kind}`).toBeUndefined()
  })

  it("refuses fewer than two replicas, saying why", () => {
    for (const replicas of [1, 0, -2, 2.5]) {
      expect(() => installManifests({ ...options, replicas })).toThrow(InstallOptionsError)
      expect(() => installManifests({ ...options, replicas })).toThrow(
        `cannot install clawfleet: replicas must be a whole number of at least 2, got ${replicas}: one replica is an outage at every node drain and rollout`
      )
    }
  })

  it("names every bad option at once", () => {
    try {
      installManifests({
        namespace: "Claw Fleet",
        image: " ",
        replicas: 1,
        publicUrl: "http://x.example.com",
        configSecretName: "Bad_Name"
      })
      expect.unreachable()
    } catch (e) {
      expect((e as InstallOptionsError).problems).toStrictEqual([
        'namespace "Claw Fleet" must be a DNS label',
        "image must be an image reference without spaces",
        "replicas must be a whole number of at least 2, got 1: one replica is an outage at every node drain and rollout",
        "publicUrl must be an https URL",
        'configSecretName "Bad_Name" must be a DNS subdomain of at most 249 characters'
      ])
    }
  })

  it("prints one YAML document per object, the same every time", () => {
    const yaml = printManifests(objects)
    expect(yaml.match(/^---$/gm)).toHaveLength(objects.length)
    expect(yaml).toBe(printManifests(installManifests(options)))
    expect(yaml).toContain(
      "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: clawfleet\n  labels:\n    app.kubernetes.io/name: clawfleet-server\n"
    )
    expect(yaml).toContain("      automountServiceAccountToken: true\n")
  })
})
