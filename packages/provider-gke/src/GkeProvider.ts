import { type ManagedResource, makeProvider, type Observation, ProviderError, type Readiness, RuntimeProvider } from "@clawfleet/core"
import { intentDiff, type Kind, KubeCache, KubeClient, type KubeObject } from "@clawfleet/core/kubernetes"
import type { Storage } from "@google-cloud/storage"
import type { iam_v1 } from "@googleapis/iam"
import type { KubeConfig } from "@kubernetes/client-node"
import { Effect, Layer, Schema } from "effect"
import { type Gcp, makeGcp } from "./Gcp.ts"
import { GkeConfig, type GkeConfigInput } from "./GkeConfig.ts"
import { bucketMember, bucketOf, googleServiceAccountOf, INTENT_HASH, namespaceOf, renderTenant, resourceName } from "./render.ts"

const NAME = "gke"
const ROLES: Record<string, ManagedResource["role"]> = { Deployment: "workload" }
const GCP_KINDS = new Set(["Bucket", "BucketIamBinding", "GoogleServiceAccount", "WorkloadIdentityUser"])

export interface GkeLayerOptions {
  readonly kubeConfig: KubeConfig
  readonly config: GkeConfigInput
  /** A `@google-cloud/storage` client for the project (Application Default Credentials in production). */
  readonly storage: Storage
  /** An `@googleapis/iam` client; needed only in `google-service-account` identity mode. */
  readonly iam?: iam_v1.Iam | undefined
}

const yes = (message: string): Readiness => ({ ready: true, reason: "Ready", message })
const no = (reason: string, message: string): Readiness => ({ ready: false, reason, message })

/** Kubernetes objects: our intent's hash moved, or someone changed what we asked for. GCP resources: what we set differs. */
const compare = (actual: ManagedResource, desired: ManagedResource): ReadonlyArray<string> => {
  if (GCP_KINDS.has(desired.kind)) return intentDiff(actual.spec, desired.spec)
  const live = actual.spec as KubeObject
  const want = desired.spec as KubeObject
  const before = live.metadata.annotations?.[INTENT_HASH]
  const after = want.metadata.annotations?.[INTENT_HASH]
  const drift = intentDiff(live, want)
  return before === after ? drift : [`metadata.annotations.${INTENT_HASH}: ${before ?? "(absent)"} -> ${after}`, ...drift]
}

const KINDS: ReadonlyArray<Kind> = [
  "Namespace",
  "ServiceAccount",
  "ResourceQuota",
  "LimitRange",
  "NetworkPolicy",
  "CiliumNetworkPolicy",
  "ConfigMap",
  "Service",
  "Ingress",
  "HTTPRoute",
  "Deployment"
]

/**
 * The GKE provider: per tenant a private GCS bucket mounted through GCS Fuse CSI, a namespace
 * walled off as on K3s, and an identity that can reach that bucket and nothing else — a Workload
 * Identity Federation principal bound on the bucket (default), or a Google service account.
 */
export const layer = (options: GkeLayerOptions) =>
  Layer.unwrap(
    Effect.map(
      Schema.decodeUnknownEffect(GkeConfig)(options.config).pipe(
        Effect.mapError((e) => new ProviderError({ reason: "Invalid", provider: NAME, detail: `configuration: ${e.message}` }))
      ),
      (config) => {
        const kube = KubeCache.layer({ kubeConfig: options.kubeConfig, kinds: KINDS, provider: NAME }).pipe(
          Layer.provideMerge(KubeClient.layer({ kubeConfig: options.kubeConfig, provider: NAME, ...config.kubernetes }))
        )
        return Layer.effect(RuntimeProvider, makeGkeProvider(config, makeGcp(options.storage, options.iam, config.projectId))).pipe(
          Layer.provide(kube)
        )
      }
    )
  )

const makeGkeProvider = (config: GkeConfig, gcp: Gcp) =>
  Effect.gen(function* () {
    const client = yield* KubeClient
    const cache = yield* KubeCache
    const byGsa = config.identity.mode === "google-service-account"

    // What exists in the project for the tenant: its bucket, its binding there and, with a Google
    // service account, that account and its Workload Identity binding. Reads only.
    const cloud = Effect.fnUntraced(function* (tenant: string) {
      const out: Array<ManagedResource> = []
      const name = bucketOf(config, tenant)
      const bucket = yield* gcp.getBucket(name)
      if (bucket !== undefined) {
        out.push({ kind: "Bucket", name, role: "data", spec: bucket })
        const member = bucketMember(config, tenant)
        if (yield* gcp.bucketBinding(name, config.identity.bucketRole, member)) {
          out.push({ kind: "BucketIamBinding", name, role: "config", spec: { bucket: name, role: config.identity.bucketRole, member } })
        }
      }
      if (byGsa) {
        const gsa = googleServiceAccountOf(config, tenant)
        const account = yield* gcp.getServiceAccount(gsa.email)
        if (account !== undefined) {
          out.push({
            kind: "GoogleServiceAccount",
            name: gsa.email,
            role: "config",
            spec: { accountId: gsa.accountId, displayName: account.displayName }
          })
          const member = `serviceAccount:${config.projectId}.svc.id.goog[${namespaceOf(config, tenant)}/openclaw]`
          if (yield* gcp.serviceAccountBinding(gsa.email, "roles/iam.workloadIdentityUser", member)) {
            out.push({
              kind: "WorkloadIdentityUser",
              name: gsa.email,
              role: "config",
              spec: { serviceAccount: gsa.email, role: "roles/iam.workloadIdentityUser", member }
            })
          }
        }
      }
      return out
    })

    const list = (tenant: string) =>
      Effect.map(cloud(tenant), (gcpResources) => [
        ...gcpResources,
        ...cache
          .tenantObjects(tenant)
          .filter((o) => o.metadata.deletionTimestamp === undefined)
          .map((o): ManagedResource => ({ kind: o.kind, name: resourceName(o), role: ROLES[o.kind] ?? "config", spec: o }))
      ])

    const put = (_tenant: string, r: ManagedResource): Effect.Effect<void, ProviderError> => {
      const spec = r.spec as Record<string, any>
      switch (r.kind) {
        case "Bucket":
          return Effect.flatMap(gcp.getBucket(spec.name), (live) => Effect.asVoid(gcp.putBucket(spec as never, live !== undefined)))
        case "BucketIamBinding":
          return gcp.bindOnBucket(spec.bucket, spec.role, spec.member)
        case "GoogleServiceAccount":
          return Effect.flatMap(gcp.getServiceAccount(r.name), (live) =>
            live === undefined ? gcp.createServiceAccount(spec.accountId, spec.displayName) : Effect.void
          )
        case "WorkloadIdentityUser":
          return gcp.bindOnServiceAccount(spec.serviceAccount, spec.role, spec.member)
        default:
          return Effect.map(client.apply(r.spec as KubeObject), cache.record)
      }
    }

    const remove = (_tenant: string, r: ManagedResource): Effect.Effect<void, ProviderError> => {
      const spec = r.spec as Record<string, any>
      switch (r.kind) {
        case "Bucket":
          return gcp.deleteBucket(r.name)
        case "BucketIamBinding":
          return gcp.unbindOnBucket(spec.bucket, spec.role, spec.member)
        case "GoogleServiceAccount":
          return gcp.deleteServiceAccount(r.name)
        // Deleting the account takes its policy with it.
        case "WorkloadIdentityUser":
          return Effect.void
        default:
          return Effect.map(client.remove(r.spec as KubeObject), () => cache.forget(r.spec as KubeObject))
      }
    }

    const readiness = (
      tenant: string,
      resources: ReadonlyArray<ManagedResource>
    ): Pick<Observation, "storage" | "identity" | "network" | "workload" | "endpoint"> => {
      const has = (kind: string, name?: string) => resources.find((r) => r.kind === kind && (name === undefined || r.name.endsWith(name)))
      const storage = has("Bucket") ? yes(`bucket ${bucketOf(config, tenant)}`) : no("Missing", `no bucket ${bucketOf(config, tenant)}`)
      // The identity is only as good as what it may reach: its binding on the bucket is part of it.
      const identity = !has("ServiceAccount", "/openclaw")
        ? no("Missing", "no ServiceAccount openclaw")
        : !has("BucketIamBinding")
          ? no("Unbound", "the tenant's identity is not bound on its bucket")
          : byGsa && !(has("GoogleServiceAccount") && has("WorkloadIdentityUser"))
            ? no("Missing", "the Google service account or its Workload Identity binding is missing")
            : yes(
                byGsa
                  ? "ServiceAccount openclaw impersonates its Google service account"
                  : "ServiceAccount openclaw, a Workload Identity principal"
              )
      const policies = ["default-deny", "allow-dns", "allow-platform", "allow-gateway", "allow-metadata-server"]
      const missing = policies.filter((p) => !has("NetworkPolicy", `/${p}`))
      const network =
        missing.length === 0
          ? yes("default-deny with DNS, metadata server, platform and gateway allowances")
          : no("Missing", `missing NetworkPolicy ${missing.join(", ")}`)
      const d = has("Deployment")?.spec as (KubeObject & { spec?: Record<string, any>; status?: Record<string, any> }) | undefined
      const workload =
        d === undefined
          ? no("Missing", "no Deployment openclaw")
          : d.spec?.replicas === 0
            ? no("ScaledToZero", "the gateway is scaled to zero")
            : Number(d.status?.availableReplicas ?? 0) >= 1 && (d.status?.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
              ? yes("the gateway is available")
              : no("Starting", "waiting for the gateway pod to become ready")
      const routed = has("HTTPRoute") !== undefined || has("Ingress") !== undefined
      return {
        storage,
        identity,
        network,
        workload,
        ...(config.ingress !== undefined && routed ? { endpoint: `https://${tenant}.${config.ingress.domain}` } : {})
      }
    }

    return makeProvider({
      describe: {
        name: NAME,
        capabilities: {
          storage: "dedicated-bucket",
          identity: "cloud-iam",
          network: config.egress === "cilium" ? "enforced-fqdn" : "enforced-cidr",
          features: { suspend: true, idleWake: false, quota: true }
        }
      },
      desired: (rt) => renderTenant(config, rt),
      list,
      put,
      remove,
      whileSuspended: (r) => r,
      compare,
      readiness: (tenant, resources) => Effect.succeed(readiness(tenant, resources))
    })
  })
