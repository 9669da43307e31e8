import { Clock, Context, DateTime, Effect, Layer, Schema } from "effect"
import { Catalog } from "./Catalog.ts"
import { Directory } from "./Directory.ts"
import { Department, Person, Team } from "./domain/Directory.ts"
import { type Grant, Resource, Subject } from "./domain/Grant.ts"
import { Tenant, TenantSpec, TenantStatus } from "./domain/Tenant.ts"
import { StoreError, ValidationError } from "./Errors.ts"
import type { Decision, Explanation } from "./grants/AccessIndex.ts"
import { type EffectiveAccess, type GrantInput, Grants } from "./grants/Grants.ts"
import { RecordStore } from "./store/RecordStore.ts"
import { Tenants } from "./Tenants.ts"

export type FleetError = StoreError | ValidationError

export interface FleetDefaults {
  readonly openclawVersion: string
  readonly resources: { readonly cpu: string; readonly memory: string; readonly storage: string }
}

/** Defaults applied when a tenant is created without them; provide your own to change them. */
export const FleetConfig = Context.Reference<FleetDefaults>("@clawfleet/core/FleetConfig", {
  defaultValue: () => ({ openclawVersion: "2026.9.6", resources: { cpu: "1", memory: "2Gi", storage: "10Gi" } })
})

export type PersonInput = typeof Person.Encoded
export type TeamInput = typeof Team.Encoded
export type DepartmentInput = typeof Department.Encoded

/** A tenant spec as callers write it: everything but the owner may be left to the defaults. */
export interface TenantSpecInput {
  readonly owner: string
  readonly openclaw?: { readonly version?: string; readonly image?: string } | undefined
  readonly resources?: { readonly cpu?: string; readonly memory?: string; readonly storage?: string } | undefined
  readonly models?: { readonly default?: string } | undefined
  readonly budget?: { readonly monthlyTokens?: number; readonly monthlyUsd?: number } | undefined
  readonly channels?: (typeof TenantSpec.Encoded)["channels"]
  readonly suspended?: boolean | undefined
  readonly idle?: { readonly suspendAfterMinutes?: number } | undefined
}

const decode =
  <S extends Schema.Codec<any, any, never, never>>(schema: S, subject: string) =>
  (input: unknown): Effect.Effect<S["Type"], ValidationError> =>
    Schema.decodeUnknownEffect(schema)(input, { errors: "all", onExcessProperty: "error" }).pipe(
      Effect.mapError((e) => ValidationError.fromSchemaError(subject, e))
    )

const decodeTenant = decode(Tenant, "tenant")

const invalid = (subject: string, path: string, message: string) => new ValidationError({ subject, issues: [{ path, message }] })

/**
 * The use cases an operator, a portal or a script needs, each one atomic and audited under the
 * actor of the `RequestContext`. This is the API the server and the Promise facade are thin
 * wrappers of.
 */
export class Fleet extends Context.Service<
  Fleet,
  {
    readonly createDepartment: (input: DepartmentInput) => Effect.Effect<Department, FleetError>
    readonly createTeam: (input: TeamInput) => Effect.Effect<Team, FleetError>
    /** Creates the person and, unless `tenant` is false, their assistant (named after them). */
    readonly onboardPerson: (input: {
      readonly person: PersonInput
      readonly tenant?: (Partial<TenantSpecInput> & { readonly name?: string }) | false | undefined
    }) => Effect.Effect<{ readonly person: Person; readonly tenant?: Tenant | undefined }, FleetError>
    /** Disables the person (they are denied everything) and suspends every tenant they own. */
    readonly offboardPerson: (id: string) => Effect.Effect<Person, FleetError>
    readonly createTenant: (input: { readonly name: string; readonly spec: TenantSpecInput }) => Effect.Effect<Tenant, FleetError>
    /** Merges `patch` into the spec; the generation moves only when the spec really changes. */
    readonly updateTenant: (
      name: string,
      patch: Partial<Omit<TenantSpecInput, "owner">>,
      options?: { readonly expectedGeneration?: number }
    ) => Effect.Effect<Tenant, FleetError>
    readonly suspendTenant: (name: string) => Effect.Effect<Tenant, FleetError>
    readonly resumeTenant: (name: string) => Effect.Effect<Tenant, FleetError>
    /** Marks the tenant Deleting; the reconciler destroys its resources and then removes it. */
    readonly deleteTenant: (name: string) => Effect.Effect<Tenant, FleetError>
    readonly grant: (input: GrantInput) => Effect.Effect<Grant, FleetError>
    readonly revoke: (grantId: string) => Effect.Effect<void, FleetError>
    readonly check: (personId: string, resource: typeof Resource.Encoded) => Effect.Effect<Decision, FleetError>
    readonly explain: (subject: typeof Subject.Encoded, resource: typeof Resource.Encoded) => Effect.Effect<Explanation, FleetError>
    readonly effectiveAccess: (tenant: string) => Effect.Effect<EffectiveAccess, FleetError>
  }
>()("@clawfleet/core/Fleet") {
  static readonly layer = Layer.effect(
    Fleet,
    Effect.gen(function* () {
      const store = yield* RecordStore
      const directory = yield* Directory
      const tenants = yield* Tenants
      const grants = yield* Grants
      yield* Catalog

      const requireTeamAndDepartment = Effect.fnUntraced(function* (p: Person) {
        if (p.team !== undefined && (yield* directory.teams.find(p.team)) === undefined) {
          return yield* invalid("person", "team", `team "${p.team}" does not exist`)
        }
        if (p.department !== undefined && (yield* directory.departments.find(p.department)) === undefined) {
          return yield* invalid("person", "department", `department "${p.department}" does not exist`)
        }
      })

      const buildSpec = Effect.fnUntraced(function* (input: TenantSpecInput) {
        const config = yield* FleetConfig
        return {
          ...input,
          openclaw: { version: config.openclawVersion, ...input.openclaw },
          resources: { ...config.resources, ...input.resources }
        }
      })

      const createTenantIn = Effect.fnUntraced(function* (name: string, specInput: TenantSpecInput) {
        const tenant = yield* decodeTenant({
          name,
          spec: yield* buildSpec(specInput),
          status: Schema.encodeSync(TenantStatus)(TenantStatus.initial),
          generation: 1
        })
        const owner = yield* directory.people.find(tenant.spec.owner)
        if (owner === undefined) return yield* invalid("tenant", "spec.owner", `person "${tenant.spec.owner}" does not exist`)
        if (owner.value.disabled) return yield* invalid("tenant", "spec.owner", `person "${tenant.spec.owner}" is disabled`)
        return (yield* tenants.create(tenant, { action: "tenant.create" })).value
      })

      // Re-reads, applies `change` to the spec, and writes with the version it read.
      const changeSpec = (
        name: string,
        action: string,
        change: (spec: typeof TenantSpec.Encoded) => typeof TenantSpec.Encoded,
        expectedGeneration?: number
      ) =>
        store.transaction(
          Effect.gen(function* () {
            const current = yield* tenants.get(name)
            const t = current.value
            if (expectedGeneration !== undefined && t.generation !== expectedGeneration) {
              return yield* StoreError.conflict("tenant", name, expectedGeneration, t.generation)
            }
            if (t.deletionRequestedAt !== undefined && action !== "tenant.delete") {
              return yield* invalid("tenant", "name", `tenant "${name}" is being deleted`)
            }
            const before = Schema.encodeSync(TenantSpec)(t.spec)
            const after = change(before)
            const spec = yield* decode(TenantSpec, "tenant spec")(after)
            const changed = JSON.stringify(Schema.encodeSync(TenantSpec)(spec)) !== JSON.stringify(before)
            const next = new Tenant({ ...t, spec, generation: changed ? t.generation + 1 : t.generation })
            if (!changed) return t
            return (yield* tenants.update(next, current.version, { action })).value
          })
        )

      return Fleet.of({
        createDepartment: Effect.fn("Fleet.createDepartment")(function* (input) {
          const d = yield* decode(Department, "department")(input)
          return (yield* directory.departments.create(d, { action: "department.create" })).value
        }),
        createTeam: Effect.fn("Fleet.createTeam")(function* (input) {
          const t = yield* decode(Team, "team")(input)
          return yield* store.transaction(
            Effect.gen(function* () {
              if ((yield* directory.departments.find(t.department)) === undefined) {
                return yield* invalid("team", "department", `department "${t.department}" does not exist`)
              }
              return (yield* directory.teams.create(t, { action: "team.create" })).value
            })
          )
        }),
        onboardPerson: Effect.fn("Fleet.onboardPerson")(function* (input) {
          const person = yield* decode(Person, "person")(input.person)
          return yield* store.transaction(
            Effect.gen(function* () {
              yield* requireTeamAndDepartment(person)
              yield* directory.people.create(person, { action: "person.onboard" })
              if (input.tenant === false) return { person }
              const { name = person.id, ...spec } = input.tenant ?? {}
              const tenant = yield* createTenantIn(name, { ...spec, owner: person.id })
              return { person, tenant }
            })
          )
        }),
        offboardPerson: Effect.fn("Fleet.offboardPerson")(function* (id) {
          return yield* store.transaction(
            Effect.gen(function* () {
              const current = yield* directory.people.get(id)
              const person = new Person({ ...current.value, disabled: true })
              yield* directory.people.update(person, current.version, { action: "person.offboard" })
              for (const t of yield* tenants.byOwner(id)) {
                if (!t.value.spec.suspended) {
                  yield* tenants.update(
                    new Tenant({
                      ...t.value,
                      spec: new TenantSpec({ ...t.value.spec, suspended: true }),
                      generation: t.value.generation + 1
                    }),
                    t.version,
                    { action: "tenant.suspend" }
                  )
                }
              }
              return person
            })
          )
        }),
        createTenant: Effect.fn("Fleet.createTenant")(function* (input) {
          return yield* store.transaction(createTenantIn(input.name, input.spec))
        }),
        updateTenant: Effect.fn("Fleet.updateTenant")(function* (name, patch, options) {
          if ("owner" in patch) return yield* invalid("tenant", "spec.owner", "the owner of a tenant cannot change")
          return yield* changeSpec(
            name,
            "tenant.update",
            (spec) =>
              ({
                ...spec,
                ...patch,
                openclaw: { ...spec.openclaw, ...patch.openclaw },
                resources: { ...spec.resources, ...patch.resources }
              }) as typeof TenantSpec.Encoded,
            options?.expectedGeneration
          )
        }),
        suspendTenant: Effect.fn("Fleet.suspendTenant")(function* (name) {
          return yield* changeSpec(name, "tenant.suspend", (spec) => ({ ...spec, suspended: true }))
        }),
        resumeTenant: Effect.fn("Fleet.resumeTenant")(function* (name) {
          return yield* store.transaction(
            Effect.gen(function* () {
              const t = yield* tenants.get(name)
              const owner = yield* directory.people.find(t.value.spec.owner)
              if (owner?.value.disabled) return yield* invalid("tenant", "spec.owner", `person "${t.value.spec.owner}" is disabled`)
              return yield* changeSpec(name, "tenant.resume", (spec) => ({ ...spec, suspended: false }))
            })
          )
        }),
        deleteTenant: Effect.fn("Fleet.deleteTenant")(function* (name) {
          return yield* store.transaction(
            Effect.gen(function* () {
              const current = yield* tenants.get(name)
              if (current.value.deletionRequestedAt !== undefined) return current.value
              const now = DateTime.makeUnsafe(yield* Clock.currentTimeMillis) as DateTime.Utc
              const next = new Tenant({
                ...current.value,
                deletionRequestedAt: now,
                status: new TenantStatus({ ...current.value.status, phase: "Deleting" })
              })
              return (yield* tenants.update(next, current.version, { action: "tenant.delete" })).value
            })
          )
        }),
        grant: (input) => grants.grant(input),
        revoke: (id) => grants.revoke(id),
        check: Effect.fn("Fleet.check")(function* (personId, resource) {
          return yield* grants.check(personId, yield* decode(Resource, "resource")(resource))
        }),
        explain: Effect.fn("Fleet.explain")(function* (subject, resource) {
          const s = yield* decode(Subject, "subject")(subject)
          return yield* grants.explain(s, yield* decode(Resource, "resource")(resource))
        }),
        effectiveAccess: (tenant) => grants.effectiveAccess(tenant)
      })
    })
  )
}
