import { Audit, Clawfleet, Directory, Fleet, Tenants, withActor } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const ada = { id: "ada", email: "ada@example.com", displayName: "Ada Lovelace" }

const setup = Effect.gen(function* () {
  const fleet = yield* Fleet
  yield* fleet.createDepartment({ id: "engineering", displayName: "Engineering" })
  yield* fleet.createTeam({ id: "platform", displayName: "Platform", department: "engineering" })
  return fleet
})

const run = <A, E>(self: Effect.Effect<A, E, Clawfleet.Services>) => Effect.provide(self, Clawfleet.layerMemory)

describe("Fleet", () => {
  it.effect("onboards a person with an assistant named after them, on the defaults", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* setup
        const { person, tenant } = yield* fleet.onboardPerson({ person: { ...ada, team: "platform" } })
        assert.strictEqual(person.team, "platform")
        assert.strictEqual(tenant?.name, "ada")
        assert.strictEqual(tenant?.spec.owner, "ada")
        assert.strictEqual(tenant?.spec.openclaw.version, "2026.9.6")
        assert.deepStrictEqual(tenant?.spec.resources, { cpu: "1", memory: "2Gi", storage: "10Gi" })
        assert.strictEqual(tenant?.status.phase, "Pending")
        assert.strictEqual(tenant?.generation, 1)
      })
    )
  )

  it.effect("onboarding is all or nothing: a taken tenant name leaves no person behind", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* setup
        yield* fleet.onboardPerson({ person: ada })
        const err = yield* Effect.flip(
          fleet.onboardPerson({ person: { id: "grace", email: "grace@example.com", displayName: "Grace" }, tenant: { name: "ada" } })
        )
        assert.strictEqual(err._tag, "StoreError")
        assert.strictEqual(err._tag === "StoreError" ? err.reason._tag : "", "AlreadyExists")
        assert.isUndefined(yield* (yield* Directory).people.find("grace"))
      })
    )
  )

  it.effect("refuses a person in a team or department that does not exist", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* setup
        const err = yield* Effect.flip(fleet.onboardPerson({ person: { ...ada, team: "nope" } }))
        assert.strictEqual(err._tag, "ValidationError")
        assert.match(err.message, /team: team "nope" does not exist/)
        const team = yield* Effect.flip(fleet.createTeam({ id: "orphans", displayName: "Orphans", department: "nowhere" }))
        assert.match(team.message, /department: department "nowhere" does not exist/)
      })
    )
  )

  it.effect("moves the generation only when the spec really changes", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* setup
        yield* fleet.onboardPerson({ person: ada })
        const same = yield* fleet.updateTenant("ada", { resources: { cpu: "1" } })
        assert.strictEqual(same.generation, 1)
        const bigger = yield* fleet.updateTenant("ada", { resources: { memory: "4Gi" } })
        assert.strictEqual(bigger.generation, 2)
        assert.deepStrictEqual(bigger.spec.resources, { cpu: "1", memory: "4Gi", storage: "10Gi" })
        const stale = yield* Effect.flip(fleet.updateTenant("ada", { budget: { monthlyUsd: 20 } }, { expectedGeneration: 1 }))
        assert.strictEqual(stale._tag === "StoreError" ? stale.reason._tag : stale._tag, "Conflict")
        const bad = yield* Effect.flip(fleet.updateTenant("ada", { resources: { memory: "lots" } }))
        assert.match(bad.message, /resources\.memory/)
        const owner = yield* Effect.flip(fleet.updateTenant("ada", { owner: "grace" } as never))
        assert.match(owner.message, /owner of a tenant cannot change/)
      })
    )
  )

  it.effect("offboarding disables the person, suspends their tenants and denies everything", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* setup
        yield* fleet.onboardPerson({ person: ada })
        yield* fleet.grant({ subject: { kind: "org" }, resource: { kind: "model", name: "*" }, effect: "allow" })
        assert.isTrue((yield* fleet.check("ada", { kind: "model", name: "gpt-4.1" })).allowed)
        const person = yield* fleet.offboardPerson("ada")
        assert.isTrue(person.disabled)
        const tenant = (yield* (yield* Tenants).get("ada")).value
        assert.isTrue(tenant.spec.suspended)
        assert.strictEqual(tenant.generation, 2)
        assert.strictEqual((yield* fleet.check("ada", { kind: "model", name: "gpt-4.1" })).reason, "person-disabled")
        const resume = yield* Effect.flip(fleet.resumeTenant("ada"))
        assert.match(resume.message, /is disabled/)
      })
    )
  )

  it.effect("suspends and resumes, each a new generation", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* setup
        yield* fleet.onboardPerson({ person: ada })
        assert.isTrue((yield* fleet.suspendTenant("ada")).spec.suspended)
        const resumed = yield* fleet.resumeTenant("ada")
        assert.isFalse(resumed.spec.suspended)
        assert.strictEqual(resumed.generation, 3)
      })
    )
  )

  it.effect("deleting marks the tenant Deleting once and freezes its spec", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* setup
        yield* fleet.onboardPerson({ person: ada })
        const deleting = yield* fleet.deleteTenant("ada")
        assert.strictEqual(deleting.status.phase, "Deleting")
        assert.isDefined(deleting.deletionRequestedAt)
        const again = yield* fleet.deleteTenant("ada")
        assert.deepStrictEqual(again.deletionRequestedAt, deleting.deletionRequestedAt)
        const update = yield* Effect.flip(fleet.updateTenant("ada", { resources: { memory: "8Gi" } }))
        assert.match(update.message, /is being deleted/)
        const missing = yield* Effect.flip(fleet.deleteTenant("nobody"))
        assert.strictEqual(missing._tag === "StoreError" ? missing.reason._tag : missing._tag, "NotFound")
      })
    )
  )

  it.effect("records who did what in the audit log", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* setup
        yield* fleet.onboardPerson({ person: ada }).pipe(withActor("grace@example.com", "req-7"))
        const events = yield* (yield* Audit).list({ limit: 100 })
        const onboard = events.filter((e) => e.requestId === "req-7")
        assert.deepStrictEqual(
          onboard.map((e) => [e.action, e.actor, e.target.id]),
          [
            ["person.onboard", "grace@example.com", "ada"],
            ["tenant.create", "grace@example.com", "ada"]
          ]
        )
        assert.isTrue((yield* (yield* Audit).verifyAuditChain).ok)
      })
    )
  )

  it.effect("updates a tenant by JSON merge patch: siblings stay, null removes", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* setup
        yield* fleet.onboardPerson({ person: ada, tenant: { budget: { monthlyTokens: 1000, monthlyUsd: 10 } } })
        const patched = yield* fleet.updateTenant("ada", { budget: { monthlyUsd: 20 } })
        assert.deepStrictEqual(patched.spec.budget, { monthlyTokens: 1000, monthlyUsd: 20 })
        const cleared = yield* fleet.updateTenant("ada", { budget: { monthlyTokens: null } })
        assert.deepStrictEqual(cleared.spec.budget, { monthlyUsd: 20 })
        const unknown = yield* Effect.flip(fleet.updateTenant("ada", { budget: { monthlyEuros: 5 } }))
        assert.match(unknown.message, /monthlyEuros/)
      })
    )
  )

  it.effect("leaves suspend and resume to their own operations, so a disabled owner stays suspended", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* setup
        yield* fleet.onboardPerson({ person: ada })
        yield* fleet.offboardPerson("ada")
        const err = yield* Effect.flip(fleet.updateTenant("ada", { suspended: false } as never))
        assert.match(err.message, /use suspendTenant or resumeTenant/)
        const resume = yield* Effect.flip(fleet.resumeTenant("ada"))
        assert.strictEqual(resume._tag, "InvalidState")
        assert.isTrue((yield* fleet.getTenant("ada")).value.spec.suspended)
      })
    )
  )

  it.effect("moves people between teams, clears fields with null, and suspends on disable", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* setup
        yield* fleet.createTeam({ id: "web", displayName: "Web", department: "engineering" })
        yield* fleet.onboardPerson({ person: { ...ada, team: "platform" } })
        assert.strictEqual((yield* fleet.updatePerson("ada", { team: "web" })).team, "web")
        assert.isUndefined((yield* fleet.updatePerson("ada", { team: null })).team)
        const bad = yield* Effect.flip(fleet.updatePerson("ada", { team: "nope" }))
        assert.match(bad.message, /team "nope" does not exist/)
        yield* fleet.updatePerson("ada", { disabled: true })
        assert.isTrue((yield* fleet.getTenant("ada")).value.spec.suspended)
        const renamed = yield* Effect.flip(fleet.updatePerson("ada", { id: "eve" } as never))
        assert.match(renamed.message, /id of a person cannot change/)
      })
    )
  )

  it.effect("keeps the identity provider's externalId, changes it and clears it with null", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* setup
        const { person } = yield* fleet.onboardPerson({ person: { ...ada, externalId: "00u1" }, tenant: false })
        assert.strictEqual(person.externalId, "00u1")
        assert.strictEqual((yield* fleet.getPerson("ada")).externalId, "00u1")
        assert.strictEqual((yield* fleet.updatePerson("ada", { externalId: "00u2" })).externalId, "00u2")
        assert.strictEqual((yield* fleet.getPerson("ada")).externalId, "00u2")
        const empty = yield* Effect.flip(fleet.updatePerson("ada", { externalId: "" }))
        assert.match(empty.message, /externalId: must not be empty/)
        assert.strictEqual((yield* fleet.updatePerson("ada", { displayName: "Ada L" })).externalId, "00u2", "other changes keep it")
        const cleared = yield* fleet.updatePerson("ada", { externalId: null })
        assert.notProperty(cleared, "externalId")
        assert.notProperty(yield* fleet.getPerson("ada"), "externalId")
      })
    )
  )

  it.effect("says when a person's id cannot name their tenant", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* setup
        const id = "a-person-with-a-very-long-identifier-of-fifty"
        const err = yield* Effect.flip(fleet.onboardPerson({ person: { ...ada, id } }))
        assert.match(err.message, /cannot name a tenant .*pass tenant\.name/)
        const ok = yield* fleet.onboardPerson({ person: { ...ada, id }, tenant: { name: "long-one" } })
        assert.strictEqual(ok.tenant?.spec.owner, id)
      })
    )
  )

  it.effect("manages the catalog and lists in validated pages", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* setup
        yield* fleet.putCatalogItem("model", { name: "gpt-4.1", upstream: "openai" })
        const replaced = yield* fleet.putCatalogItem("model", { name: "gpt-4.1", upstream: "azure" })
        assert.strictEqual(replaced.upstream, "azure")
        assert.deepStrictEqual(
          (yield* fleet.listCatalog("model")).items.map((m) => m.name),
          ["gpt-4.1"]
        )
        yield* fleet.removeCatalogItem("model", "gpt-4.1")
        assert.strictEqual((yield* fleet.listCatalog("model")).items.length, 0)
        const badLimit = yield* Effect.flip(fleet.listPeople({ limit: Number.NaN }))
        assert.match(badLimit.message, /limit: must be a whole number from 1 to 1000/)
        const badCursor = yield* Effect.flip(fleet.listPeople({ cursor: "not-a-cursor" }))
        assert.match(badCursor.message, /cursor/)
      })
    )
  )

  it.effect("refuses to change a deleting tenant with InvalidState", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* setup
        yield* fleet.onboardPerson({ person: ada })
        yield* fleet.deleteTenant("ada")
        const err = yield* Effect.flip(fleet.suspendTenant("ada"))
        assert.strictEqual(err._tag, "InvalidState")
        assert.strictEqual(err.message, 'tenant "ada" is being deleted')
        const stale = yield* Effect.flip(fleet.updateTenant("ada", {}, { expectedGeneration: 7 }))
        assert.match(stale.message, /generation 1, not 7/)
      })
    )
  )
})
