import { createHash } from "node:crypto"
import type { ManagedResource, TenantRuntime } from "@clawfleet/core"
import {
  AGENT_RESOURCES,
  addBytes,
  addCpu,
  configMap,
  deployment,
  ingress,
  type KubeObject,
  limitRange,
  namespace,
  networkPolicies,
  ownedLabels,
  resourceQuota,
  service,
  serviceAccount
} from "@clawfleet/core/kubernetes"
import type { GkeConfig } from "./GkeConfig.ts"

export const INTENT_HASH = "clawfleet.dev/intent-hash"
const hash = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16)
const KSA = "openclaw"

export const namespaceOf = (config: GkeConfig, tenant: string) => `${config.namespacePrefix}${tenant}`
export const bucketOf = (config: GkeConfig, tenant: string) =>
  `${config.bucket.prefix ?? `claw-${hash(config.projectId).slice(0, 8)}-`}${tenant}`
/** Google service account ids are 6–30 characters: derived from the tenant, not spelled with it. */
export const googleServiceAccountOf = (config: GkeConfig, tenant: string) => {
  const accountId = `claw-${hash(`${config.fleet}/${tenant}`).slice(0, 12)}`
  return { accountId, email: `${accountId}@${config.projectId}.iam.gserviceaccount.com` }
}
/** Who may use the bucket: the tenant's KSA itself (Workload Identity Federation), or its Google service account. */
export const bucketMember = (config: GkeConfig, tenant: string) =>
  config.identity.mode === "principal"
    ? `principal://iam.googleapis.com/projects/${config.projectNumber}/locations/global/workloadIdentityPools/${config.projectId}.svc.id.goog/subject/ns/${namespaceOf(config, tenant)}/sa/${KSA}`
    : `serviceAccount:${googleServiceAccountOf(config, tenant).email}`

export const resourceName = (o: KubeObject) =>
  o.metadata.namespace === undefined ? o.metadata.name : `${o.metadata.namespace}/${o.metadata.name}`
const kube = (role: ManagedResource["role"], o: KubeObject): ManagedResource => ({
  kind: o.kind,
  name: resourceName(o),
  role,
  spec: { ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, [INTENT_HASH]: hash(o) } } }
})

/** The bucket as GCS should hold it: private, uniform access, labelled. */
export const bucketSpec = (config: GkeConfig, tenant: string) => ({
  name: bucketOf(config, tenant),
  location: config.bucket.location,
  storageClass: config.bucket.storageClass,
  labels: { "managed-by": "clawfleet", "clawfleet-fleet": config.fleet, "clawfleet-tenant": tenant },
  iamConfiguration: { uniformBucketLevelAccess: { enabled: true }, publicAccessPrevention: "enforced" },
  softDeletePolicy: { retentionDurationSeconds: String(config.bucket.softDeleteSeconds) },
  ...(config.bucket.kmsKeyName !== undefined ? { encryption: { defaultKmsKeyName: config.bucket.kmsKeyName } } : {})
})

/**
 * Everything a tenant should have on GKE and in the project, in creation order: the bucket, the
 * namespace and its guards, identity and its binding on the bucket, network, config, the workload.
 */
export const renderTenant = (config: GkeConfig, rt: TenantRuntime): ReadonlyArray<ManagedResource> => {
  const t = rt.tenant
  const ns = namespaceOf(config, t)
  const agent = config.agent
  const gsa = googleServiceAccountOf(config, t)
  const byGsa = config.identity.mode === "google-service-account"
  const { cpu, memory, storage } = rt.spec.resources
  const podTotal =
    agent === undefined
      ? { cpu, memory, storage }
      : { cpu: addCpu(cpu, AGENT_RESOURCES.cpu), memory: addBytes(memory, AGENT_RESOURCES.memory), storage }
  const openclawJson = `${JSON.stringify(rt.openclaw.config, null, 2)}\n`
  const platform = [config.platform.tokenProxy, config.platform.egressProxy, config.platform.toolBroker]
  const ingressPort = agent?.port ?? config.gatewayPort
  const policy = (name: string, spec: Record<string, unknown>): KubeObject => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: ns, labels: ownedLabels(t, "network") },
    spec: { podSelector: {}, ...spec }
  })
  return [
    { kind: "Bucket", name: bucketOf(config, t), role: "data", spec: bucketSpec(config, t) },
    kube("config", namespace(t, ns)),
    ...(byGsa
      ? [
          {
            kind: "GoogleServiceAccount",
            name: gsa.email,
            role: "config" as const,
            spec: { accountId: gsa.accountId, displayName: `clawfleet tenant ${t}` }
          },
          {
            kind: "WorkloadIdentityUser",
            name: gsa.email,
            role: "config" as const,
            spec: {
              serviceAccount: gsa.email,
              role: "roles/iam.workloadIdentityUser",
              member: `serviceAccount:${config.projectId}.svc.id.goog[${ns}/${KSA}]`
            }
          }
        ]
      : []),
    kube("config", serviceAccount(t, ns, KSA, byGsa ? { "iam.gke.io/gcp-service-account": gsa.email } : undefined)),
    {
      kind: "BucketIamBinding",
      name: bucketOf(config, t),
      role: "config",
      spec: { bucket: bucketOf(config, t), role: config.identity.bucketRole, member: bucketMember(config, t) }
    },
    kube("config", resourceQuota(t, ns, podTotal)),
    kube("config", limitRange(t, ns, { cpu, memory })),
    ...networkPolicies(t, ns, {
      platform: platform.map((p) => ({ namespace: p.namespace, podLabels: p.podLabels, ports: [p.port] })),
      gateway: config.ingressFrom,
      ingressPort
    }).map((o) => kube("config", o)),
    // Workload Identity asks the GKE metadata server for tokens; nothing else outside the cluster is reachable.
    kube(
      "config",
      policy("allow-metadata-server", {
        policyTypes: ["Egress"],
        egress: [
          { to: [{ ipBlock: { cidr: "169.254.169.254/32" } }], ports: [{ protocol: "TCP", port: 80 }] },
          { to: [{ ipBlock: { cidr: "169.254.169.252/32" } }], ports: [{ protocol: "TCP", port: 988 }] }
        ]
      })
    ),
    ...(config.egress === "cilium" && rt.access.egress.length > 0
      ? [
          kube("config", {
            apiVersion: "cilium.io/v2",
            kind: "CiliumNetworkPolicy",
            metadata: { name: "allow-granted-domains", namespace: ns, labels: ownedLabels(t, "network") },
            spec: {
              endpointSelector: {},
              egress: [
                {
                  toFQDNs: rt.access.egress.map((e) =>
                    e.pattern.startsWith("*.") ? { matchPattern: e.pattern } : { matchName: e.pattern }
                  ),
                  toPorts: [{ ports: [{ port: "443", protocol: "TCP" }] }]
                }
              ]
            }
          })
        ]
      : []),
    kube("config", configMap(t, ns, "openclaw-config", { "openclaw.json": openclawJson })),
    ...(agent === undefined ? [] : [kube("config", configMap(t, ns, "tenant-agent", { "agent.mjs": agent.bundle }, "agent"))]),
    ...rt.access.skills.map((name) => kube("config", configMap(t, ns, `skill-${name}`, { name }, "skill"))),
    ...(agent === undefined ? [] : [kube("config", service(t, ns, agent.port))]),
    ...(agent !== undefined && config.ingress !== undefined
      ? [
          kube(
            "config",
            config.ingress.kind === "ingress"
              ? ingress(t, ns, { host: `${t}.${config.ingress.domain}`, port: agent.port })
              : {
                  apiVersion: "gateway.networking.k8s.io/v1",
                  kind: "HTTPRoute",
                  metadata: { name: "openclaw", namespace: ns, labels: ownedLabels(t, "ingress") },
                  spec: {
                    parentRefs: [{ name: config.ingress.gateway.name, namespace: config.ingress.gateway.namespace }],
                    hostnames: [`${t}.${config.ingress.domain}`],
                    rules: [{ backendRefs: [{ name: "openclaw", port: agent.port }] }]
                  }
                }
          )
        ]
      : []),
    kube(
      "workload",
      deployment({
        tenant: t,
        namespace: ns,
        image: rt.openclaw.image ?? `${config.image}:${rt.openclaw.version}`,
        replicas: rt.suspended ? 0 : 1,
        serviceAccountName: KSA,
        resources: { cpu, memory },
        config: { configMap: "openclaw-config", hash: hash(openclawJson) },
        // The bucket, mounted by the GCS Fuse CSI driver's sidecar as the pod's own identity.
        state: {
          csi: {
            driver: "gcsfuse.csi.storage.gke.io",
            volumeAttributes: { bucketName: bucketOf(config, t), mountOptions: "implicit-dirs,uid=10001,gid=10001" }
          }
        },
        podAnnotations: { "gke-gcsfuse/volumes": "true" },
        secretEnv: rt.secrets.map((s) => ({ env: s.env, secret: s.ref.name, key: s.ref.key })),
        gatewayPort: config.gatewayPort,
        agent: agent === undefined ? undefined : { configMap: "tenant-agent", file: "agent.mjs", port: agent.port },
        skills: rt.access.skills
      })
    )
  ]
}
