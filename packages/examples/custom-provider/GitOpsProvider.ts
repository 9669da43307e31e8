/**
 * A runtime provider that talks to no cluster: it renders every tenant's Kubernetes objects into a
 * directory laid out for GitOps (Argo CD or Flux pick it up from a Git repository) and leaves the
 * applying to them.
 *
 *   <root>/tenants/<tenant>/<kind>-<name>.json   one object per file
 *   <root>/tenants/<tenant>/kustomization.yaml   lists those files
 *
 * Every file is written atomically (a temporary file in the same directory, then a rename), so a
 * controller never reads half a file. Because the provider only writes files, it cannot see a
 * cluster: by default every capability is reported NotReady with reason `AwaitingSync` once its
 * file is written. Pass `observe` (reading, say, the Argo CD Application's health) to report what
 * the cluster really runs.
 */
import { createHash, randomUUID } from "node:crypto"
import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { type ManagedResource, makeProvider, type Observation, ProviderError, RuntimeProvider, type TenantRuntime } from "@clawfleet/core"
import {
  deployment,
  type KubeObject,
  namespace,
  networkPolicies,
  type PeerPods,
  persistentVolumeClaim,
  serviceAccount,
  configMap as tenantConfigMap
} from "@clawfleet/core/kubernetes"
import { Effect, Layer } from "effect"

export const NAME = "gitops"

export type CapabilityReadiness = Pick<Observation, "storage" | "identity" | "network" | "workload">

export interface GitOpsConfig {
  /** The root of the GitOps checkout; tenants go under `<root>/tenants`. */
  readonly root: string
  /** The OpenClaw image; the tenant's pinned version is its tag unless the tenant names an image. */
  readonly image?: string | undefined
  readonly gatewayPort?: number | undefined
  readonly storageClassName?: string | undefined
  /** The platform's token proxy, egress proxy and tool broker: the only places a tenant may call. */
  readonly platform?: ReadonlyArray<PeerPods> | undefined
  /** The ingress controller or platform gateway: the only pods that may call into the tenant. */
  readonly gateway?: Omit<PeerPods, "ports"> | undefined
  /**
   * How readiness is learned from the cluster the files are synced to (an Argo CD Application's
   * health, a Flux Kustomization's status). Without it, the provider says only what it knows: the
   * files are written and the cluster has not been observed (`AwaitingSync`).
   */
  readonly observe?:
    | ((tenant: string, written: ReadonlyArray<ManagedResource>) => Effect.Effect<CapabilityReadiness, ProviderError>)
    | undefined
}

const ROLES: Readonly<Record<string, ManagedResource["role"]>> = {
  // The claim lives in the namespace: removing the namespace would delete the data with it.
  Namespace: "data",
  PersistentVolumeClaim: "data",
  Deployment: "workload"
}

/** Which kind carries each capability. */
export const CAPABILITY_KINDS = {
  storage: "PersistentVolumeClaim",
  identity: "ServiceAccount",
  network: "NetworkPolicy",
  workload: "Deployment"
} as const

const TENANT_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
const hash = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16)
const namespaceOf = (tenant: string) => `claw-${tenant}`
export const fileName = (o: KubeObject) => `${o.kind.toLowerCase()}-${o.metadata.name}.json`
const resourceName = (o: KubeObject) =>
  o.metadata.namespace === undefined ? o.metadata.name : `${o.metadata.namespace}/${o.metadata.name}`
// What a file holds after a round trip: no `undefined` fields, so desired and read-back compare equal.
const plain = (o: KubeObject): KubeObject => JSON.parse(JSON.stringify(o)) as KubeObject
const asResource = (o: KubeObject): ManagedResource => ({ kind: o.kind, name: resourceName(o), role: ROLES[o.kind] ?? "config", spec: o })

/** Pure: every object a tenant should have, in the order a controller may apply them. */
export const renderTenant = (config: GitOpsConfig, rt: TenantRuntime): ReadonlyArray<KubeObject> => {
  const ns = namespaceOf(rt.tenant)
  const openclawJson = `${JSON.stringify(rt.openclaw.config, null, 2)}\n`
  const gatewayPort = config.gatewayPort ?? 18789
  return [
    namespace(rt.tenant, ns),
    serviceAccount(rt.tenant, ns, "openclaw"),
    persistentVolumeClaim(rt.tenant, ns, { name: "state", size: rt.spec.resources.storage, storageClassName: config.storageClassName }),
    tenantConfigMap(rt.tenant, ns, "openclaw-config", { "openclaw.json": openclawJson }),
    ...networkPolicies(rt.tenant, ns, {
      platform: config.platform ?? [],
      gateway: config.gateway ?? { namespace: "clawfleet", podLabels: { "app.kubernetes.io/name": "clawfleet-gateway" } },
      ingressPort: gatewayPort
    }),
    deployment({
      tenant: rt.tenant,
      namespace: ns,
      image: rt.openclaw.image ?? `${config.image ?? "ghcr.io/openclaw/openclaw"}:${rt.openclaw.version}`,
      // Suspended: the Deployment stays, scaled to zero, so a controller without pruning stops it too.
      replicas: rt.suspended ? 0 : 1,
      serviceAccountName: "openclaw",
      resources: { cpu: rt.spec.resources.cpu, memory: rt.spec.resources.memory },
      config: { configMap: "openclaw-config", hash: hash(openclawJson) },
      state: { claim: "state" },
      secretEnv: rt.secrets.map((s) => ({ env: s.env, secret: s.ref.name, key: s.ref.key })),
      gatewayPort
    })
  ].map(plain)
}

/** The `kustomization.yaml` listing a tenant's files, sorted so it only changes when they do. */
export const kustomization = (files: ReadonlyArray<string>) =>
  [
    "apiVersion: kustomize.config.k8s.io/v1beta1",
    "kind: Kustomization",
    "resources:",
    ...[...files].sort().map((f) => `  - ${f}`),
    ""
  ].join("\n")

const AWAITING = (what: string, written: boolean) =>
  written
    ? {
        ready: false,
        reason: "AwaitingSync",
        message: `${what} written; a GitOps controller applies it, and this provider cannot observe the cluster`
      }
    : { ready: false, reason: "Missing", message: `no ${what} written` }

/** What the provider honestly knows without a cluster: which files exist, nothing about what runs. */
export const filesOnlyReadiness = (resources: ReadonlyArray<ManagedResource>): CapabilityReadiness => {
  const has = (kind: string) => resources.some((r) => r.kind === kind)
  return {
    storage: AWAITING(CAPABILITY_KINDS.storage, has(CAPABILITY_KINDS.storage)),
    identity: AWAITING(CAPABILITY_KINDS.identity, has(CAPABILITY_KINDS.identity)),
    network: AWAITING(CAPABILITY_KINDS.network, has(CAPABILITY_KINDS.network)),
    workload: AWAITING(CAPABILITY_KINDS.workload, has(CAPABILITY_KINDS.workload))
  }
}

export const makeGitOpsProvider = (config: GitOpsConfig): RuntimeProvider["Service"] => {
  const tenantsDir = join(config.root, "tenants")
  const fail = (reason: ProviderError["reason"], detail: string, cause?: unknown, resource?: string) =>
    new ProviderError({
      reason,
      provider: NAME,
      detail,
      ...(resource !== undefined ? { resource } : {}),
      ...(cause !== undefined ? { cause } : {})
    })
  const io = <A>(what: string, f: () => Promise<A>, resource?: string) =>
    Effect.tryPromise({
      try: f,
      catch: (cause) => {
        const code = (cause as { code?: string }).code
        const reason = code === "EACCES" || code === "EPERM" ? "Forbidden" : code === "ENOSPC" ? "QuotaExceeded" : "Unavailable"
        return fail(reason, `${what}: ${String((cause as Error).message ?? cause)}`, cause, resource)
      }
    })
  const dirOf = (tenant: string) =>
    TENANT_NAME.test(tenant)
      ? Effect.succeed(join(tenantsDir, tenant))
      : Effect.fail(fail("Invalid", `not a tenant name: ${JSON.stringify(tenant)}`))

  // Temp file in the same directory, then rename: readers see the old file or the new one, never half.
  const writeAtomic = (dir: string, file: string, content: string) =>
    io(
      `write ${file}`,
      async () => {
        const target = join(dir, file)
        const current = await readFile(target, "utf8").catch(() => undefined)
        if (current === content) return
        const temp = join(dir, `.${file}.${randomUUID()}.tmp`)
        try {
          await writeFile(temp, content, { mode: 0o644 })
          await rename(temp, target)
        } finally {
          await rm(temp, { force: true })
        }
      },
      file
    )

  const jsonFiles = (dir: string) =>
    io(`list ${dir}`, async () => {
      const names = await readdir(dir).catch((e: { code?: string }) => (e.code === "ENOENT" ? [] : Promise.reject(e)))
      return names.filter((n) => n.endsWith(".json") && !n.startsWith(".")).sort()
    })

  // Rewrites the tenant's kustomization from the files present; with none left the directory goes.
  const syncKustomization = (dir: string) =>
    Effect.gen(function* () {
      const files = yield* jsonFiles(dir)
      if (files.length > 0) return yield* writeAtomic(dir, "kustomization.yaml", kustomization(files))
      yield* io(`remove ${dir}`, async () => {
        await rm(join(dir, "kustomization.yaml"), { force: true })
        await rmdir(dir).catch((e: { code?: string }) => (e.code === "ENOENT" ? undefined : Promise.reject(e)))
      })
    })

  const list = (tenant: string) =>
    Effect.gen(function* () {
      const dir = yield* dirOf(tenant)
      const files = yield* jsonFiles(dir)
      const resources: Array<ManagedResource> = []
      for (const file of files) {
        const text = yield* io(`read ${file}`, () => readFile(join(dir, file), "utf8"), file)
        const parsed = yield* Effect.try({
          try: () => JSON.parse(text) as KubeObject,
          catch: (cause) => fail("Invalid", `${file} is not JSON`, cause, file)
        })
        if (typeof parsed?.kind !== "string" || typeof parsed?.metadata?.name !== "string") {
          return yield* fail("Invalid", `${file} is not a Kubernetes object`, undefined, file)
        }
        resources.push(asResource(parsed))
      }
      return resources
    })

  return makeProvider({
    describe: {
      name: NAME,
      // What the written objects ask the cluster for once synced: a volume claim, a service account
      // without an API token, NetworkPolicies (pod and namespace selectors, no FQDN rules).
      capabilities: {
        storage: "volume",
        identity: "service-account",
        network: "enforced-cidr",
        features: { suspend: true, idleWake: false, quota: false }
      }
    },
    desired: (rt) => renderTenant(config, rt).map(asResource),
    list,
    put: (tenant, r) =>
      Effect.gen(function* () {
        const dir = yield* dirOf(tenant)
        yield* io(`create ${dir}`, () => mkdir(dir, { recursive: true }))
        yield* writeAtomic(dir, fileName(r.spec as KubeObject), `${JSON.stringify(r.spec, null, 2)}\n`)
        yield* syncKustomization(dir)
      }),
    remove: (tenant, r) =>
      Effect.gen(function* () {
        const dir = yield* dirOf(tenant)
        const file = fileName(r.spec as KubeObject)
        yield* io(`remove ${file}`, () => rm(join(dir, file), { force: true }), file)
        yield* syncKustomization(dir)
      }),
    // Suspend keeps the Deployment, rendered with zero replicas.
    whileSuspended: (r) => r,
    readiness: (tenant, resources) => (config.observe ? config.observe(tenant, resources) : Effect.succeed(filesOnlyReadiness(resources)))
  })
}

export const layer = (config: GitOpsConfig): Layer.Layer<RuntimeProvider> => Layer.succeed(RuntimeProvider, makeGitOpsProvider(config))
