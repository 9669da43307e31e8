import { Context, Effect, Layer } from "effect"
import { Catalog } from "./Catalog.ts"
import { Directory } from "./Directory.ts"
import { type Department, Person, type Team } from "./domain/Directory.ts"
import { type Grant, Resource, Subject } from "./domain/Grant.ts"
import type { Tenant } from "./domain/Tenant.ts"
import type { InvalidState, StoreError, ValidationError } from "./Errors.ts"
import { makeCatalogOps } from "./fleet/CatalogOps.ts"
import { decode } from "./fleet/internal.ts"
import { makePeopleOps } from "./fleet/PeopleOps.ts"
import { makeTenantOps, type TenantSpecInput } from "./fleet/TenantOps.ts"
import type { Decision, Explanation } from "./grants/AccessIndex.ts"
import { type EffectiveAccess, type GrantInput, Grants } from "./grants/Grants.ts"
import { RecordStore } from "./store/RecordStore.ts"
import type { Page, PageRequest } from "./store/Repository.ts"
import { Tenants } from "./Tenants.ts"

export type { CatalogItem, CatalogItemInput } from "./fleet/CatalogOps.ts"
export type { PersonPatch } from "./fleet/PeopleOps.ts"
export { FleetConfig, type FleetDefaults, type TenantPatch, type TenantSpecInput } from "./fleet/TenantOps.ts"

/** Every way a Fleet call can fail: the store, the input, or the target's current state. */
export type FleetError = StoreError | ValidationError | InvalidState

export type PersonInput = typeof Person.Encoded
export type TeamInput = typeof Team.Encoded
export type DepartmentInput = typeof Department.Encoded

const makeFleet = Effect.gen(function* () {
  const store = yield* RecordStore
  const directory = yield* Directory
  const tenants = yield* Tenants
  const grants = yield* Grants
  const catalog = yield* Catalog
  const { requireTeamAndDepartment, ...people } = makePeopleOps({ store, directory, tenants })
  const { createIn, ...tenantOps } = makeTenantOps({ store, directory, tenants })

  return {
    ...people,
    ...tenantOps,
    ...makeCatalogOps(catalog),

    /** Creates the person and, unless `tenant` is false, their assistant (named after them). */
    onboardPerson: Effect.fn("Fleet.onboardPerson")(function* (input: {
      readonly person: PersonInput
      readonly tenant?: (Partial<TenantSpecInput> & { readonly name?: string }) | false | undefined
    }) {
      const person = yield* decode(Person, "person")(input.person)
      return yield* store.transaction(
        Effect.gen(function* (): Effect.fn.Return<{ readonly person: Person; readonly tenant?: Tenant }, FleetError> {
          yield* requireTeamAndDepartment(person)
          yield* directory.people.create(person, { action: "person.onboard" })
          if (input.tenant === false) return { person }
          const { name, ...spec } = input.tenant ?? {}
          const tenant = yield* createIn(name ?? person.id, { ...spec, owner: person.id }, name === undefined)
          return { person, tenant }
        })
      )
    }),

    getPerson: (id: string) => Effect.map(directory.people.get(id), (v) => v.value),
    listPeople: (page?: PageRequest & { readonly team?: string }) =>
      directory.people.list({ ...page, where: page?.team === undefined ? {} : { team: page.team } }),
    getTenant: (name: string) => tenants.get(name),
    listTenants: (page?: PageRequest & { readonly owner?: string }) =>
      tenants.list({ ...page, where: page?.owner === undefined ? {} : { "spec.owner": page.owner } }),

    grant: (input: GrantInput): Effect.Effect<Grant, FleetError> => grants.grant(input),
    revoke: (grantId: string): Effect.Effect<void, FleetError> => grants.revoke(grantId),
    listGrants: (page?: PageRequest & { readonly subject?: typeof Subject.Encoded }) =>
      Effect.gen(function* () {
        const subject = page?.subject === undefined ? undefined : yield* decode(Subject, "subject")(page.subject)
        return (yield* grants.list({ ...page, subject })) as Page<Grant>
      }),
    check: Effect.fn("Fleet.check")(function* (personId: string, resource: typeof Resource.Encoded) {
      return (yield* grants.check(personId, yield* decode(Resource, "resource")(resource))) as Decision
    }),
    explain: Effect.fn("Fleet.explain")(function* (subject: typeof Subject.Encoded, resource: typeof Resource.Encoded) {
      const s = yield* decode(Subject, "subject")(subject)
      return (yield* grants.explain(s, yield* decode(Resource, "resource")(resource))) as Explanation
    }),
    effectiveAccess: (tenant: string): Effect.Effect<EffectiveAccess, FleetError> => grants.effectiveAccess(tenant)
  }
})

/**
 * The use cases an operator, a portal or a script needs, each one atomic and audited under the
 * actor of the `RequestContext`. The server and the Promise facade are thin wrappers of it.
 */
export class Fleet extends Context.Service<Fleet, Effect.Success<typeof makeFleet>>()("@clawfleet/core/Fleet") {
  static readonly layer = Layer.effect(Fleet, makeFleet)
}
