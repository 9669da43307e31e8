import { type ManagedResource, makeProvider, type Observation, ProviderError, type Readiness, RuntimeProvider } from "@clawfleet/core"
import { intentDiff, type Kind, KubeCache, KubeClient, type KubeObject } from "@clawfleet/core/kubernetes"
import type { KubeConfig } from "@kubernetes/client-node"
import { Effect, Layer, Schema } from "effect"
import { K3sConfig, type K3sConfigInput } from "./K3sConfig.ts"
import { INTENT_HASH, namespaceOf, renderTenant, resourceName } from "./render.ts"

const NAME = "k3s"
/** Every kind the provider renders, watches and prunes: what its cluster role must cover. */
export const MANAGED_KINDS: ReadonlyArray<Kind> = [
  "Namespace",
  "ServiceAccount",
  "ResourceQuota",
  "LimitRange",
  "NetworkPolicy",
  "PersistentVolumeClaim",
  "ConfigMap",
  "Service",
  "Ingress",
  "Deployment"
]
const ROLES: Record<string, ManagedResource["role"]> = { Namespace: "data", PersistentVolumeClaim: "data", Deployment: "workload" }

type Live = KubeObject & { readonly spec?: Record<string, any>; readonly status?: Record<string, any> }

const yes = (message: string): Readiness => ({ ready: true, reason: "Ready", message })
const no = (reason: string, message: string): Readiness => ({ ready: false, reason, message })

/** What the objects on the cluster say about each capability. */
const readiness = (
  config: K3sConfig,
  tenant: string,
  objects: ReadonlyArray<Live>
): Pick<Observation, "storage" | "identity" | "network" | "workload" | "endpoint"> => {
  const find = (kind: string, name?: string) => objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name))
  const pvc = find("PersistentVolumeClaim", "state")
  const phase = pvc?.status?.phase as string | undefined
  // local-path binds a claim only when its first pod is scheduled, so Pending is not a fault yet.
  const storage =
    pvc === undefined
      ? no("Missing", "no PersistentVolumeClaim state")
      : phase === "Lost"
        ? no("ClaimLost", "the volume behind claim state is lost")
        : yes(`claim state is ${phase ?? "created"}`)
  const identity = find("ServiceAccount", "openclaw") ? yes("service account openclaw exists") : no("Missing", "no ServiceAccount openclaw")
  const policies = ["default-deny", "allow-dns", "allow-platform", "allow-gateway"]
  const missing = policies.filter((p) => find("NetworkPolicy", p) === undefined)
  const network =
    missing.length === 0
      ? yes("default-deny with DNS, platform and gateway allowances")
      : no("Missing", `missing NetworkPolicy ${missing.join(", ")}`)
  const d = find("Deployment", "openclaw")
  const available = Number(d?.status?.availableReplicas ?? 0)
  const current = (d?.status?.observedGeneration ?? 0) >= (d?.metadata.generation ?? 0)
  const workload =
    d === undefined
      ? no("Missing", "no Deployment openclaw")
      : d.spec?.replicas === 0
        ? no("ScaledToZero", "the gateway is scaled to zero")
        : available >= 1 && current
          ? yes("the gateway is available")
          : no("Starting", "waiting for the gateway pod to become ready")
  return {
    storage,
    identity,
    network,
    workload,
    ...(config.ingress !== undefined && config.agent !== undefined && find("Ingress") !== undefined
      ? { endpoint: `${config.ingress.scheme}://${tenant}.${config.ingress.domain}` }
      : {})
  }
}

/** Our intent changed (its hash moved), or somebody changed what we asked for behind our back. */
const compare = (actual: ManagedResource, desired: ManagedResource): ReadonlyArray<string> => {
  const live = actual.spec as KubeObject
  const want = desired.spec as KubeObject
  const before = live.metadata.annotations?.[INTENT_HASH]
  const after = want.metadata.annotations?.[INTENT_HASH]
  const drift = intentDiff(live, want)
  return before === after ? drift : [`metadata.annotations.${INTENT_HASH}: ${before ?? "(absent)"} -> ${after}`, ...drift]
}

/**
 * The K3s provider: a namespace per tenant (Pod Security `restricted`, quota, limits), a volume
 * claim for its state, a ServiceAccount with no API token, default-deny NetworkPolicy with the
 * platform's services allowed, and the OpenClaw Deployment (scaled to zero while suspended).
 * Writes are server-side applies with our field manager; reads come from a watch-fed cache.
 */
export const layer = (options: { readonly kubeConfig: KubeConfig; readonly config: K3sConfigInput }) =>
  Layer.unwrap(
    Effect.map(
      Schema.decodeUnknownEffect(K3sConfig)(options.config).pipe(
        Effect.mapError((e) => new ProviderError({ reason: "Invalid", provider: NAME, detail: `configuration: ${e.message}` }))
      ),
      (config) => {
        const kube = KubeCache.layer({ kubeConfig: options.kubeConfig, kinds: MANAGED_KINDS, provider: NAME }).pipe(
          Layer.provideMerge(KubeClient.layer({ kubeConfig: options.kubeConfig, provider: NAME, ...config.kubernetes }))
        )
        return Layer.effect(RuntimeProvider, makeK3sProvider(config)).pipe(Layer.provide(kube))
      }
    )
  )

const makeK3sProvider = (config: K3sConfig) =>
  Effect.gen(function* () {
    const client = yield* KubeClient
    const cache = yield* KubeCache
    const list = (tenant: string) =>
      Effect.sync(() =>
        cache
          .tenantObjects(tenant)
          .filter((o) => o.metadata.deletionTimestamp === undefined)
          .map((o): ManagedResource => ({ kind: o.kind, name: resourceName(o), role: ROLES[o.kind] ?? "config", spec: o }))
      )
    return makeProvider({
      describe: {
        name: NAME,
        capabilities: {
          storage: "volume",
          identity: "service-account",
          network: "enforced-cidr",
          features: { suspend: true, idleWake: false, quota: true }
        }
      },
      desired: (rt) => renderTenant(config, rt),
      list,
      put: (_, r) => Effect.map(client.apply(r.spec as KubeObject), cache.record),
      remove: (_, r) => Effect.map(client.remove(r.spec as KubeObject), () => cache.forget(r.spec as KubeObject)),
      // The Deployment stays while suspended, scaled to zero by the render: data and config untouched.
      whileSuspended: (r) => r,
      compare,
      readiness: (tenant, resources) =>
        Effect.succeed(
          readiness(
            config,
            tenant,
            resources.map((r) => r.spec as Live)
          )
        )
    })
  })

export { namespaceOf }
