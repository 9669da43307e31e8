import { Effect, Schema } from "effect"
import { Department, Person, Team } from "../domain/Directory.ts"
import { Tenant, TenantSpec } from "../domain/Tenant.ts"
import { decode, type FleetDeps, invalid, mergePatch } from "./internal.ts"

/** A merge patch of a person: any field but the id; `null` clears an optional one. */
export type PersonPatch = { readonly [K in Exclude<keyof typeof Person.Encoded, "id">]?: (typeof Person.Encoded)[K] | null }

/** The directory use cases of `Fleet`: departments, teams, people joining, moving and leaving. */
export const makePeopleOps = (deps: FleetDeps) => {
  const { store, directory, tenants } = deps

  const requireTeamAndDepartment = Effect.fnUntraced(function* (p: Person) {
    if (p.team !== undefined && (yield* directory.teams.find(p.team)) === undefined) {
      return yield* invalid("person", "team", `team "${p.team}" does not exist`)
    }
    if (p.department !== undefined && (yield* directory.departments.find(p.department)) === undefined) {
      return yield* invalid("person", "department", `department "${p.department}" does not exist`)
    }
  })

  // Suspends every running tenant of the person, in the caller's transaction.
  const suspendAllOf = Effect.fnUntraced(function* (owner: string) {
    for (const t of yield* tenants.byOwner(owner)) {
      if (t.value.spec.suspended || t.value.deletionRequestedAt !== undefined) continue
      yield* tenants.update(
        new Tenant({ ...t.value, spec: new TenantSpec({ ...t.value.spec, suspended: true }), generation: t.value.generation + 1 }),
        t.version,
        { action: "tenant.suspend" }
      )
    }
  })

  return {
    createDepartment: Effect.fn("Fleet.createDepartment")(function* (input: typeof Department.Encoded) {
      const d = yield* decode(Department, "department")(input)
      return (yield* directory.departments.create(d, { action: "department.create" })).value
    }),

    createTeam: Effect.fn("Fleet.createTeam")(function* (input: typeof Team.Encoded) {
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

    /**
     * Changes a person by merge patch (`null` clears `team`, `department` or `externalId`). The id stays.
     * Re-enabling (`disabled: false`) does not resume their tenants: that is `resumeTenant`.
     */
    updatePerson: Effect.fn("Fleet.updatePerson")(function* (id: string, patch: PersonPatch) {
      if ("id" in patch) return yield* invalid("person", "id", "the id of a person cannot change")
      return yield* store.transaction(
        Effect.gen(function* () {
          const current = yield* directory.people.get(id)
          const merged = mergePatch(Schema.encodeSync(Person)(current.value), patch)
          const person = yield* decode(Person, "person")(merged)
          yield* requireTeamAndDepartment(person)
          const action = person.disabled && !current.value.disabled ? "person.offboard" : "person.update"
          yield* directory.people.update(person, current.version, { action })
          if (person.disabled && !current.value.disabled) yield* suspendAllOf(id)
          return person
        })
      )
    }),

    /** Disables the person (they are denied everything) and suspends every tenant they own. */
    offboardPerson: Effect.fn("Fleet.offboardPerson")(function* (id: string) {
      return yield* store.transaction(
        Effect.gen(function* () {
          const current = yield* directory.people.get(id)
          const person = new Person({ ...current.value, disabled: true })
          if (!current.value.disabled) yield* directory.people.update(person, current.version, { action: "person.offboard" })
          yield* suspendAllOf(id)
          return person
        })
      )
    }),

    requireTeamAndDepartment
  }
}
