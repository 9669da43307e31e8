import type { Person } from "@clawfleet/core"
import { Effect } from "effect"
import { GROUP_SCHEMA } from "./discovery.ts"
import { compileFilter, type FilterRules, matchAll } from "./filtering.ts"
import { groupLocation, groupName, groupVersion, membershipPatch, renderGroup, validGroupName } from "./groups.ts"
import { ifMatchAllows, type ListQuery, page, preconditionFailed, type ScimDeps, type ScimResource } from "./internal.ts"
import { applyPatch, parsePatchBody } from "./patch.ts"
import { type Json, read } from "./paths.ts"
import { fromCore, ScimError } from "./ScimError.ts"

// Entra ID checks one membership with `id eq "…" and members[value eq "…"]`.
const GROUP_FILTERS: FilterRules = {
  schema: GROUP_SCHEMA,
  attributes: {
    displayname: { type: "string" },
    id: { type: "string", caseExact: true },
    members: { type: "multi", caseExact: true },
    "members.value": { type: "string", caseExact: true }
  },
  notKept: { externalid: "clawfleet does not keep a group's externalId, so match groups on displayName" }
}
const schemas = { core: [GROUP_SCHEMA], extensions: [] }

/** Group membership, which is where people get their `groups` and (by the team rule) their team. */
export const makeGroupOps = (deps: ScimDeps) => {
  const { fleet, directory, store, base, teamOf } = deps

  const answer = (name: string, members: ReadonlyArray<Person>): ScimResource => ({
    body: renderGroup(name, members, base),
    version: groupVersion(members),
    location: groupLocation(base, name)
  })

  const membersOf = (people: ReadonlyArray<{ readonly value: Person }>, name: string) =>
    people.filter((p) => p.value.groups.includes(name)).map((p) => p.value)

  const nameOf = (id: string) => {
    const name = groupName(id)
    return name === undefined ? Effect.fail(ScimError.notFound("Group", id)) : Effect.succeed(name)
  }

  const displayNameOf = (body: unknown): string | ScimError => {
    const name = read(body, "displayName")
    if (typeof name !== "string" || !validGroupName(name)) return ScimError.invalidValue("displayName must be 1-256 characters of text")
    return name
  }

  const memberIds = (value: unknown): ReadonlySet<string> | ScimError => {
    if (value === undefined || value === null) return new Set()
    if (!Array.isArray(value)) return ScimError.invalidValue("members must be an array")
    const ids = new Set<string>()
    for (const m of value) {
      const id = read(m, "value")
      if (typeof id !== "string") return ScimError.invalidValue("each of members needs a value: a User id")
      ids.add(id)
    }
    return ids
  }

  /**
   * Makes the group's members exactly `ids`, one person write each, in the caller's transaction.
   * Unknown people and a team rule naming a team nobody created are refused before anything is
   * written, so the administrator sees why in their provider's log.
   */
  const setMembers = Effect.fnUntraced(function* (name: string, ids: ReadonlySet<string>) {
    const people = yield* directory.people.all
    const known = new Set(people.map((p) => p.value.id as string))
    for (const id of ids) if (!known.has(id)) return yield* ScimError.invalidValue(`members: there is no User ${JSON.stringify(id)}`)
    const team = teamOf(name)
    const joining = people.some((p) => ids.has(p.value.id) && !p.value.groups.includes(name))
    if (team !== undefined && joining && (yield* directory.teams.find(team)) === undefined) {
      return yield* ScimError.invalidValue(`members: group ${JSON.stringify(name)} places people in team "${team}", which does not exist`)
    }
    const members: Array<Person> = []
    for (const p of people) {
      const wanted = ids.has(p.value.id)
      const groups = wanted
        ? p.value.groups.includes(name)
          ? p.value.groups
          : [...p.value.groups, name]
        : p.value.groups.filter((g) => g !== name)
      const patch = membershipPatch(p.value, groups, teamOf)
      const person = patch === undefined ? p.value : yield* fleet.updatePerson(p.value.id, patch)
      if (wanted) members.push(person)
    }
    return answer(name, members)
  })

  /** Reads the group, checks If-Match, and lets `change` name its members, in one transaction. */
  const write = (id: string, ifMatch: string | undefined, change: (group: Json) => ReadonlySet<string> | ScimError) =>
    Effect.gen(function* () {
      const name = yield* nameOf(id)
      return yield* store.transaction(
        Effect.gen(function* () {
          const members = membersOf(yield* directory.people.all, name)
          if (!ifMatchAllows(ifMatch, groupVersion(members))) return yield* preconditionFailed(groupVersion(members))
          const ids = change(renderGroup(name, members, base))
          if (ids instanceof ScimError) return yield* ids
          return yield* setMembers(name, ids)
        })
      )
    }).pipe(Effect.mapError(fromCore))

  // Ids come from names, so a new name would be a new group: the provider must create that one.
  const sameName = (name: string, next: string) =>
    next === name
      ? undefined
      : ScimError.mutability(`a group cannot be renamed (${JSON.stringify(name)} → ${JSON.stringify(next)}): create one`)

  return {
    createGroup: Effect.fn("Scim.createGroup")(function* (body: unknown) {
      const name = displayNameOf(body)
      if (name instanceof ScimError) return yield* name
      const ids = memberIds(read(body, "members"))
      if (ids instanceof ScimError) return yield* ids
      return yield* store.transaction(
        Effect.gen(function* () {
          // A group with nobody in it leaves no trace, so creating it again is not a clash.
          if (membersOf(yield* directory.people.all, name).length > 0) {
            return yield* ScimError.uniqueness(`displayName ${JSON.stringify(name)} is already a group`)
          }
          return yield* setMembers(name, ids)
        })
      )
    }, Effect.mapError(fromCore)),

    getGroup: Effect.fn("Scim.getGroup")(function* (id: string) {
      const name = yield* nameOf(id)
      return answer(name, membersOf(yield* directory.people.all, name))
    }, Effect.mapError(fromCore)),

    /** Only groups somebody is in are listed: an empty group is not kept anywhere. */
    listGroups: Effect.fn("Scim.listGroups")(function* (query: ListQuery) {
      const test = compileFilter(query.filter, GROUP_FILTERS)
      if (test instanceof ScimError) return yield* test
      const people = yield* directory.people.all
      const names = [...new Set(people.flatMap((p) => p.value.groups))].sort()
      const all = names.map((name) => renderGroup(name, membersOf(people, name), base))
      return page(matchAll(all, test), query)
    }, Effect.mapError(fromCore)),

    replaceGroup: Effect.fn("Scim.replaceGroup")(function* (id: string, body: unknown, ifMatch?: string) {
      return yield* write(id, ifMatch, (group) => {
        const name = displayNameOf(body)
        if (name instanceof ScimError) return name
        return sameName(group.displayName as string, name) ?? memberIds(read(body, "members"))
      })
    }),

    /** Okta adds and removes members (`members[value eq "…"]`); Entra ID lists them in `value`. */
    patchGroup: Effect.fn("Scim.patchGroup")(function* (id: string, body: unknown, ifMatch?: string) {
      const ops = parsePatchBody(body)
      if (ops instanceof ScimError) return yield* ops
      return yield* write(id, ifMatch, (group) => {
        const after = applyPatch(group, ops, schemas)
        if (after instanceof ScimError) return after
        const name = displayNameOf(after)
        if (name instanceof ScimError) return name
        return sameName(group.displayName as string, name) ?? memberIds(read(after, "members"))
      })
    }),

    /** Everybody leaves the group; the people stay. */
    deleteGroup: Effect.fn("Scim.deleteGroup")(function* (id: string, ifMatch?: string) {
      yield* write(id, ifMatch, () => new Set())
    })
  }
}
