import { Effect } from "effect"
import { canonicalJson } from "../internal/auditHash.ts"
import { jsonEqual } from "../internal/json.ts"
import type { ProviderError } from "./ProviderError.ts"
import {
  type ManagedResource,
  type Observation,
  type Plan,
  type ProviderDescription,
  type Readiness,
  type ResourceChange,
  type Retention,
  RuntimeProvider
} from "./RuntimeProvider.ts"
import type { TenantRuntime } from "./TenantRuntime.ts"

/**
 * The parts a provider author writes; `makeProvider` derives the rest of the contract. Like any
 * service's methods they need nothing from the environment: take what they use (clients,
 * config) from the layer that builds the provider.
 */
export interface ProviderParts {
  readonly describe: ProviderDescription
  /** Pure: every resource the tenant should have. Workload resources are dropped while suspended. */
  readonly desired: (runtime: TenantRuntime) => ReadonlyArray<ManagedResource>
  /** Every resource that exists for the tenant now (only the tenant's own). */
  readonly list: (tenant: string) => Effect.Effect<ReadonlyArray<ManagedResource>, ProviderError>
  /** Creates or replaces one resource; must be idempotent. */
  readonly put: (tenant: string, resource: ManagedResource) => Effect.Effect<void, ProviderError>
  /** Deletes one resource; deleting what is already gone succeeds. */
  readonly remove: (tenant: string, resource: ManagedResource) => Effect.Effect<void, ProviderError>
  /**
   * Per-capability readiness from what exists. Default: a capability is ready when a resource of
   * the kind named for it in `kinds` exists.
   */
  readonly readiness?: (
    tenant: string,
    resources: ReadonlyArray<ManagedResource>
  ) => Effect.Effect<Pick<Observation, "storage" | "identity" | "network" | "workload" | "endpoint">, ProviderError>
  /**
   * What a workload resource becomes while the tenant is suspended; `undefined` removes it (the
   * default). A provider that scales to zero returns the resource with no replicas.
   */
  readonly whileSuspended?: (resource: ManagedResource) => ManagedResource | undefined
  /**
   * The differences that make an existing resource need writing, as readable lines; none means
   * unchanged. Default: any difference between the specs. A provider whose `list` returns what
   * the server holds (defaults, status) compares only what it asked for.
   */
  readonly compare?: (actual: ManagedResource, desired: ManagedResource) => ReadonlyArray<string>
  /** Which resource kind carries each capability, for the default readiness. */
  readonly kinds?: { readonly storage: string; readonly identity: string; readonly network: string; readonly workload: string }
}

const key = (r: { readonly kind: string; readonly name: string }) => `${r.kind}/${r.name}`

/** Leaf-level differences between two JSON values, as `path: before -> after` lines. */
export const jsonDiff = (before: unknown, after: unknown, path = "spec"): Array<string> => {
  if (jsonEqual(before, after)) return []
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
    return keys.flatMap((k) => jsonDiff(before[k], after[k], `${path}.${k}`))
  }
  const show = (v: unknown) => (v === undefined ? "(absent)" : canonicalJson(v))
  return [`${path}: ${show(before)} -> ${show(after)}`]
}

/** Compares desired with actual: creates and updates in desired order, then deletes in reverse. */
export const diffResources = (
  desired: ReadonlyArray<ManagedResource>,
  actual: ReadonlyArray<ManagedResource>,
  compare: (actual: ManagedResource, desired: ManagedResource) => ReadonlyArray<string> = (a, d) => jsonDiff(a.spec, d.spec)
): ReadonlyArray<ResourceChange & { readonly resource: ManagedResource }> => {
  const current = new Map(actual.map((r) => [key(r), r]))
  const wanted = new Set(desired.map(key))
  const changes: Array<ResourceChange & { readonly resource: ManagedResource }> = desired.map((r) => {
    const have = current.get(key(r))
    if (have === undefined) return { action: "create", kind: r.kind, name: r.name, diff: [], resource: r }
    const diff = compare(have, r)
    return { action: diff.length === 0 ? "unchanged" : "update", kind: r.kind, name: r.name, diff, resource: r }
  })
  for (const r of [...actual].reverse()) {
    if (!wanted.has(key(r))) changes.push({ action: "delete", kind: r.kind, name: r.name, diff: [], resource: r })
  }
  return changes
}

const ready = (ok: boolean, kind: string): Readiness =>
  ok ? { ready: true, reason: "Present", message: `${kind} exists` } : { ready: false, reason: "Missing", message: `no ${kind}` }

/**
 * Builds a complete `RuntimeProvider` from four parts: what should exist (pure), what does
 * exist, and how to put and remove one resource. Plan, idempotent apply, observe, suspend,
 * resume and destroy follow from them, so every provider gets them right the same way.
 */
export const makeProvider = (parts: ProviderParts): RuntimeProvider["Service"] => {
  const asleep = parts.whileSuspended ?? (() => undefined)
  const desiredOf = (runtime: TenantRuntime) =>
    parts.desired(runtime).flatMap((r) => {
      if (!(runtime.suspended && r.role === "workload")) return [r]
      const kept = asleep(r)
      return kept === undefined ? [] : [kept]
    })
  const planOf = (runtime: TenantRuntime) =>
    Effect.map(parts.list(runtime.tenant), (actual) => diffResources(desiredOf(runtime), actual, parts.compare))
  const toPlan = (runtime: TenantRuntime, changes: ReadonlyArray<ResourceChange>): Plan => ({
    tenant: runtime.tenant,
    generation: runtime.generation,
    changes: changes.map(({ action, kind, name, diff }) => ({ action, kind, name, diff }))
  })

  const defaultReadiness = (resources: ReadonlyArray<ManagedResource>) => {
    const kinds = parts.kinds
    const has = (kind: string | undefined) => kind !== undefined && resources.some((r) => r.kind === kind)
    return Effect.succeed({
      storage: ready(has(kinds?.storage), kinds?.storage ?? "storage"),
      identity: ready(has(kinds?.identity), kinds?.identity ?? "identity"),
      network: ready(has(kinds?.network), kinds?.network ?? "network policy"),
      workload: ready(has(kinds?.workload), kinds?.workload ?? "workload")
    })
  }

  // Writes what the plan says, in its order, and reports it.
  const converge = Effect.fnUntraced(function* (runtime: TenantRuntime) {
    const changes = yield* planOf(runtime)
    for (const c of changes) {
      if (c.action === "create" || c.action === "update") yield* parts.put(runtime.tenant, c.resource)
      else if (c.action === "delete") yield* parts.remove(runtime.tenant, c.resource)
    }
    return toPlan(runtime, changes)
  })

  return RuntimeProvider.of({
    describe: parts.describe,
    plan: (runtime) => Effect.map(planOf(runtime), (changes) => toPlan(runtime, changes)),
    apply: converge,
    observe: Effect.fnUntraced(function* (tenant: string) {
      const resources = yield* parts.list(tenant)
      const readiness = yield* parts.readiness ? parts.readiness(tenant, resources) : defaultReadiness(resources)
      return {
        tenant,
        exists: resources.length > 0,
        ...readiness,
        resources: resources.map(({ kind, name }) => ({ kind, name }))
      } satisfies Observation
    }),
    suspend: (runtime) => Effect.asVoid(converge({ ...runtime, suspended: true })),
    resume: (runtime) => Effect.asVoid(converge({ ...runtime, suspended: false })),
    destroy: Effect.fnUntraced(function* (tenant: string, options: { readonly data: Retention }) {
      const order = { workload: 0, config: 1, data: 2 } as const
      const doomed = (yield* parts.list(tenant))
        .filter((r) => options.data === "delete" || r.role !== "data")
        .sort((a, b) => order[a.role] - order[b.role])
      for (const r of doomed) yield* parts.remove(tenant, r)
    })
  })
}
