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
  persistentVolumeClaim,
  resourceQuota,
  service,
  serviceAccount
} from "@clawfleet/core/kubernetes"
import type { K3sConfig } from "./K3sConfig.ts"

/** Annotation holding a hash of what we last applied, so removing a field of ours is seen as a change. */
export const INTENT_HASH = "clawfleet.dev/intent-hash"

const hash = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16)

export const namespaceOf = (config: K3sConfig, tenant: string) => `${config.namespacePrefix}${tenant}`

const withIntentHash = (o: KubeObject): KubeObject => ({
  ...o,
  metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, [INTENT_HASH]: hash(o) } }
})

/** Names are qualified by namespace: two tenants' `openclaw` Deployments are different resources. */
export const resourceName = (o: KubeObject) =>
  o.metadata.namespace === undefined ? o.metadata.name : `${o.metadata.namespace}/${o.metadata.name}`

const resource = (role: ManagedResource["role"], o: KubeObject): ManagedResource => ({
  kind: o.kind,
  name: resourceName(o),
  role,
  spec: withIntentHash(o)
})

/**
 * Every object a tenant should have, in the order they can be created: the namespace first, the
 * workload last. Pure: the same runtime always renders the same objects.
 */
export const renderTenant = (config: K3sConfig, rt: TenantRuntime): ReadonlyArray<ManagedResource> => {
  const t = rt.tenant
  const ns = namespaceOf(config, t)
  const openclawJson = `${JSON.stringify(rt.openclaw.config, null, 2)}\n`
  const skills = rt.access.skills
  const agent = config.agent
  const secretEnv = rt.secrets.map((s) => ({ env: s.env, secret: s.ref.name, key: s.ref.key }))
  const platform = [config.platform.tokenProxy, config.platform.egressProxy, config.platform.toolBroker]
  const ingressPort = agent?.port ?? config.gatewayPort
  // The quota holds the gateway at the tenant's size plus the agent beside it.
  const { cpu, memory, storage } = rt.spec.resources
  const podTotal =
    agent === undefined
      ? { cpu, memory, storage }
      : { cpu: addCpu(cpu, AGENT_RESOURCES.cpu), memory: addBytes(memory, AGENT_RESOURCES.memory), storage }
  return [
    // The namespace holds the volume, so it is data: destroying with `keep` leaves both.
    resource("data", namespace(t, ns)),
    resource("config", serviceAccount(t, ns, "openclaw")),
    resource("config", resourceQuota(t, ns, podTotal)),
    resource("config", limitRange(t, ns, { cpu: rt.spec.resources.cpu, memory: rt.spec.resources.memory })),
    ...networkPolicies(t, ns, {
      platform: platform.map((p) => ({ namespace: p.namespace, podLabels: p.podLabels, ports: [p.port] })),
      gateway: config.ingressFrom,
      ingressPort
    }).map((o) => resource("config", o)),
    resource(
      "data",
      persistentVolumeClaim(t, ns, { name: "state", size: rt.spec.resources.storage, storageClassName: config.storageClassName })
    ),
    resource("config", configMap(t, ns, "openclaw-config", { "openclaw.json": openclawJson })),
    ...(agent === undefined ? [] : [resource("config", configMap(t, ns, "tenant-agent", { "agent.mjs": agent.bundle }, "agent"))]),
    // One descriptor per granted skill: a revoked grant prunes its ConfigMap and the agent removes the skill.
    ...skills.map((name) => resource("config", configMap(t, ns, `skill-${name}`, { name }, "skill"))),
    ...(agent === undefined ? [] : [resource("config", service(t, ns, agent.port))]),
    ...(agent !== undefined && config.ingress !== undefined
      ? [
          resource(
            "config",
            ingress(t, ns, {
              host: `${t}.${config.ingress.domain}`,
              port: agent.port,
              className: config.ingress.className,
              tlsSecret: config.ingress.tlsSecret
            })
          )
        ]
      : []),
    resource(
      "workload",
      deployment({
        tenant: t,
        namespace: ns,
        image: rt.openclaw.image ?? `${config.image}:${rt.openclaw.version}`,
        replicas: rt.suspended ? 0 : 1,
        serviceAccountName: "openclaw",
        resources: { cpu: rt.spec.resources.cpu, memory: rt.spec.resources.memory },
        config: { configMap: "openclaw-config", hash: hash(openclawJson) },
        state: { claim: "state" },
        secretEnv,
        gatewayPort: config.gatewayPort,
        agent: agent === undefined ? undefined : { configMap: "tenant-agent", file: "agent.mjs", port: agent.port },
        skills
      })
    )
  ]
}
