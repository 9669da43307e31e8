import { Directory, Fleet, Person, RecordStore } from "@clawfleet/core"
import { Effect, Schema } from "effect"
import { HttpApiBuilder, HttpApiSchema } from "effect/http-api"
import { Access } from "../Access.ts"
import { ClawfleetApi } from "../Api.ts"
import { checkIfMatch, etagOf, requireIfMatch } from "../ETag.ts"
import { Idempotency } from "../Idempotency.ts"
import { memoryPage, storePage, values } from "../Paging.ts"
import { Forbidden, orPreconditionProblem, orProblem } from "../Problems.ts"
import { CurrentCaller } from "../Security.ts"

const encodePerson = Schema.encodeSync(Person)

// Groups come from the identity provider and decide roles: only an org administrator may set them
// by hand, or a team administrator could make someone an administrator of anything.
const groupsAreOrgAdmins = new Forbidden({ detail: "only an org administrator may set a person's groups" })

export const PeopleHandlers = HttpApiBuilder.group(
  ClawfleetApi,
  "people",
  Effect.fn(function* (handlers) {
    const fleet = yield* Fleet
    const directory = yield* Directory
    const store = yield* RecordStore
    const access = yield* Access
    const idempotency = yield* Idempotency

    const withETag = (id: string) =>
      Effect.map(directory.people.get(id), (v) => HttpApiSchema.withHeaders({ body: v.value, headers: { etag: etagOf(v.version) } }))

    return handlers.handleAll({
      list: ({ query }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          const teams = access.visibleTeams(caller)
          if (teams === undefined || query.team !== undefined) {
            if (query.team !== undefined) yield* access.team(caller, query.team)
            return values(yield* storePage(store, "people", Person, query, query.team === undefined ? [] : [["team", query.team]]))
          }
          const all = yield* Effect.forEach(teams, (team) => directory.people.allWhere({ team }))
          return values(memoryPage(all.flat(), (v) => v.value.id, query))
        }).pipe(orProblem),

      get: ({ params }) =>
        Effect.gen(function* () {
          yield* access.person(yield* CurrentCaller, params.id, "read")
          return yield* withETag(params.id)
        }).pipe(orProblem),

      create: ({ payload, headers }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          yield* access.team(caller, payload.person.team)
          if (caller.role.name !== "org-admin" && payload.person.groups.length > 0) return yield* groupsAreOrgAdmins
          const onboard = fleet.onboardPerson({
            person: encodePerson(payload.person),
            ...(payload.tenant !== undefined ? { tenant: payload.tenant } : {})
          })
          return yield* idempotency.run(
            { caller: caller.person.id, operation: "people.create", key: headers["idempotency-key"], body: payload },
            onboard
          )
        }).pipe(orProblem),

      update: ({ params, headers, payload }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          yield* access.person(caller, params.id, "manage")
          if (caller.role.name !== "org-admin") {
            if (payload.groups !== undefined) return yield* groupsAreOrgAdmins
            // A team administrator may move people between their own teams, not out of their reach.
            if (payload.team !== undefined) yield* access.team(caller, payload.team ?? undefined)
          }
          const ifMatch = yield* requireIfMatch(headers["if-match"])
          return yield* store.transaction(
            Effect.gen(function* () {
              yield* checkIfMatch(ifMatch, (yield* directory.people.get(params.id)).version)
              yield* fleet.updatePerson(params.id, payload)
              return yield* withETag(params.id)
            })
          )
        }).pipe(orPreconditionProblem),

      offboard: ({ params }) =>
        Effect.gen(function* () {
          yield* access.person(yield* CurrentCaller, params.id, "manage")
          return yield* store.transaction(Effect.andThen(fleet.offboardPerson(params.id), withETag(params.id)))
        }).pipe(orProblem)
    })
  })
)
