import { Directory, Fleet, RecordStore, Tenant, Tenants } from "@clawfleet/core"
import { Effect } from "effect"
import { HttpApiBuilder, HttpApiSchema } from "effect/http-api"
import { Access } from "../Access.ts"
import { ClawfleetApi } from "../Api.ts"
import { checkIfMatch, etagOf, requireIfMatch } from "../ETag.ts"
import { Idempotency } from "../Idempotency.ts"
import { memoryPage, storePage, values } from "../Paging.ts"
import { orPreconditionProblem, orProblem } from "../Problems.ts"
import { CurrentCaller } from "../Security.ts"

export const TenantsHandlers = HttpApiBuilder.group(
  ClawfleetApi,
  "tenants",
  Effect.fn(function* (handlers) {
    const fleet = yield* Fleet
    const directory = yield* Directory
    const tenants = yield* Tenants
    const store = yield* RecordStore
    const access = yield* Access
    const idempotency = yield* Idempotency

    const withETag = (name: string) =>
      Effect.map(tenants.get(name), (v) => HttpApiSchema.withHeaders({ body: v.value, headers: { etag: etagOf(v.version) } }))

    // Reads back in the same transaction, so the ETag is the version this change wrote.
    const thenETag = <A, E, R>(name: string, change: Effect.Effect<A, E, R>) => store.transaction(Effect.andThen(change, withETag(name)))

    return handlers.handleAll({
      list: ({ query }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          const teams = access.visibleTeams(caller)
          if (teams === undefined || query.owner !== undefined) {
            if (query.owner !== undefined) yield* access.owner(caller, query.owner)
            return values(yield* storePage(store, "tenants", Tenant, query, query.owner === undefined ? [] : [["spec.owner", query.owner]]))
          }
          // A team administrator's tenants: those of the people in their teams.
          const people = (yield* Effect.forEach(teams, (team) => directory.people.allWhere({ team }))).flat()
          const owned = yield* Effect.forEach(people, (p) => tenants.byOwner(p.value.id))
          return values(memoryPage(owned.flat(), (v) => v.value.name, query))
        }).pipe(orProblem),

      get: ({ params }) =>
        Effect.gen(function* () {
          yield* access.tenant(yield* CurrentCaller, params.name, "read")
          return yield* withETag(params.name)
        }).pipe(orProblem),

      create: ({ payload, headers }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          yield* access.owner(caller, payload.spec.owner)
          return yield* idempotency.run(
            { caller: caller.person.id, operation: "tenants.create", key: headers["idempotency-key"], body: payload },
            thenETag(payload.name, fleet.createTenant(payload))
          )
        }).pipe(orProblem),

      update: ({ params, headers, payload }) =>
        Effect.gen(function* () {
          yield* access.tenant(yield* CurrentCaller, params.name, "manage")
          const ifMatch = yield* requireIfMatch(headers["if-match"])
          return yield* store.transaction(
            Effect.gen(function* () {
              const current = yield* tenants.get(params.name)
              yield* checkIfMatch(ifMatch, current.version)
              yield* fleet.updateTenant(params.name, payload, { expectedGeneration: current.value.generation })
              return yield* withETag(params.name)
            })
          )
        }).pipe(orPreconditionProblem),

      suspend: ({ params }) =>
        Effect.gen(function* () {
          yield* access.tenant(yield* CurrentCaller, params.name, "operate")
          return yield* thenETag(params.name, fleet.suspendTenant(params.name))
        }).pipe(orProblem),

      resume: ({ params }) =>
        Effect.gen(function* () {
          yield* access.tenant(yield* CurrentCaller, params.name, "operate")
          return yield* thenETag(params.name, fleet.resumeTenant(params.name))
        }).pipe(orProblem),

      delete: ({ params }) =>
        Effect.gen(function* () {
          yield* access.tenant(yield* CurrentCaller, params.name, "manage")
          return yield* fleet.deleteTenant(params.name)
        }).pipe(orProblem)
    })
  })
)
