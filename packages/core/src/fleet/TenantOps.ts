import { Clock, Context, DateTime, Effect, Schema } from "effect"
import { TenantName } from "../domain/Names.ts"
import { Tenant, TenantSpec, TenantStatus } from "../domain/Tenant.ts"
import { StoreError } from "../Errors.ts"
import { decode, type FleetDeps, invalid, invalidState, mergePatch } from "./internal.ts"

export interface FleetDefaults {
  readonly openclawVersion: string
  readonly resources: { readonly cpu: string; readonly memory: string; readonly storage: string }
}

/** Defaults applied when a tenant is created without them; provide your own to change them. */
export const FleetConfig = Context.Reference<FleetDefaults>("@clawfleet/core/FleetConfig", {
  defaultValue: () => ({ openclawVersion: "2026.9.6", resources: { cpu: "1", memory: "2Gi", storage: "10Gi" } })
})

type SpecEncoded = typeof TenantSpec.Encoded

/** A tenant spec as callers write it: everything but the owner may be left to the defaults. */
export type TenantSpecInput = { readonly owner: string } & Partial<Omit<SpecEncoded, "owner" | "openclaw" | "resources">> & {
    readonly openclaw?: { readonly version?: string; readonly image?: string } | undefined
    readonly resources?: { readonly cpu?: string; readonly memory?: string; readonly storage?: string } | undefined
  }

/** What `updateTenant` may change: not the owner, and not `suspended` (suspend and resume do). */
export type TenantPatch = { readonly [K in keyof Omit<TenantSpecInput, "owner" | "suspended">]?: unknown }

/** The tenant use cases of `Fleet`. Every change re-reads and writes with the version it read. */
export const makeTenantOps = (deps: FleetDeps) => {
  const { store, directory, tenants } = deps

  const createIn = Effect.fnUntraced(function* (name: string, input: TenantSpecInput, defaultedName = false) {
    if (defaultedName && !Schema.is(TenantName)(name)) {
      return yield* invalid("tenant", "name", `"${name}" cannot name a tenant (1-40 lower-case letters, digits, '-'): pass tenant.name`)
    }
    const config = yield* FleetConfig
    const spec = mergePatch({ openclaw: { version: config.openclawVersion }, resources: config.resources }, input)
    const tenant = yield* decode(
      Tenant,
      "tenant"
    )({
      name,
      spec,
      status: Schema.encodeSync(TenantStatus)(TenantStatus.initial),
      generation: 1
    })
    const owner = yield* directory.people.find(tenant.spec.owner)
    if (owner === undefined) return yield* invalid("tenant", "spec.owner", `person "${tenant.spec.owner}" does not exist`)
    if (owner.value.disabled) return yield* invalidState("person", tenant.spec.owner, "is disabled: no new tenant for them")
    return (yield* tenants.create(tenant, { action: "tenant.create" })).value
  })

  const changeSpec = (name: string, action: string, change: (spec: SpecEncoded) => unknown, expectedGeneration?: number) =>
    store.transaction(
      Effect.gen(function* () {
        const current = yield* tenants.get(name)
        const t = current.value
        if (expectedGeneration !== undefined && t.generation !== expectedGeneration) {
          return yield* StoreError.conflict("tenant", name, expectedGeneration, t.generation, "generation")
        }
        if (t.deletionRequestedAt !== undefined) return yield* invalidState("tenant", name, "is being deleted")
        const before = Schema.encodeSync(TenantSpec)(t.spec)
        const spec = yield* decode(TenantSpec, "tenant spec")(change(before))
        if (JSON.stringify(Schema.encodeSync(TenantSpec)(spec)) === JSON.stringify(before)) return t
        return (yield* tenants.update(new Tenant({ ...t, spec, generation: t.generation + 1 }), current.version, { action })).value
      })
    )

  return {
    createIn,

    createTenant: Effect.fn("Fleet.createTenant")(function* (input: { readonly name: string; readonly spec: TenantSpecInput }) {
      return yield* store.transaction(createIn(input.name, input.spec))
    }),

    /** Applies `patch` as a JSON merge patch; the generation moves only when the spec changes. */
    updateTenant: Effect.fn("Fleet.updateTenant")(function* (
      name: string,
      patch: TenantPatch,
      options?: { readonly expectedGeneration?: number }
    ) {
      if ("owner" in patch) return yield* invalid("tenant", "spec.owner", "the owner of a tenant cannot change")
      if ("suspended" in patch) return yield* invalid("tenant", "spec.suspended", "use suspendTenant or resumeTenant")
      return yield* changeSpec(name, "tenant.update", (spec) => mergePatch(spec, patch), options?.expectedGeneration)
    }),

    suspendTenant: Effect.fn("Fleet.suspendTenant")(function* (name: string) {
      return yield* changeSpec(name, "tenant.suspend", (spec) => ({ ...spec, suspended: true }))
    }),

    resumeTenant: Effect.fn("Fleet.resumeTenant")(function* (name: string) {
      return yield* store.transaction(
        Effect.gen(function* () {
          const t = yield* tenants.get(name)
          const owner = yield* directory.people.find(t.value.spec.owner)
          if (owner?.value.disabled) return yield* invalidState("person", t.value.spec.owner, "is disabled: their tenants stay suspended")
          return yield* changeSpec(name, "tenant.resume", (spec) => ({ ...spec, suspended: false }))
        })
      )
    }),

    /** Marks the tenant Deleting; the reconciler destroys its resources and then removes it. */
    deleteTenant: Effect.fn("Fleet.deleteTenant")(function* (name: string) {
      return yield* store.transaction(
        Effect.gen(function* () {
          const current = yield* tenants.get(name)
          if (current.value.deletionRequestedAt !== undefined) return current.value
          const next = new Tenant({
            ...current.value,
            deletionRequestedAt: DateTime.makeUnsafe(yield* Clock.currentTimeMillis) as DateTime.Utc,
            status: new TenantStatus({ ...current.value.status, phase: "Deleting" })
          })
          return (yield* tenants.update(next, current.version, { action: "tenant.delete" })).value
        })
      )
    })
  }
}
