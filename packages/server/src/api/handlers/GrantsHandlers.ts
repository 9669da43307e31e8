import { Directory, Fleet, Grant, GrantInput, Grants, RecordStore, type Tenant } from "@clawfleet/core"
import { Effect, Schema } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Access } from "../Access.ts"
import { ClawfleetApi } from "../Api.ts"
import { Idempotency } from "../Idempotency.ts"
import { storePage, values } from "../Paging.ts"
import { orProblem } from "../Problems.ts"
import { CurrentCaller } from "../Security.ts"

const encodeGrantInput = Schema.encodeSync(GrantInput)

/** The store filter of `?subject=` (`org`, `person:mia`) and `?kind=`. */
const whereOf = (query: { readonly subject?: string; readonly kind?: string }): ReadonlyArray<readonly [string, string]> => {
  const where: Array<readonly [string, string]> = []
  if (query.subject !== undefined) {
    const [kind, id] = query.subject.split(":", 2) as [string, string | undefined]
    where.push(["subject.kind", kind])
    if (id !== undefined) where.push(["subject.id", id])
  }
  if (query.kind !== undefined) where.push(["resource.kind", query.kind])
  return where
}

export const GrantsHandlers = HttpApiBuilder.group(
  ClawfleetApi,
  "grants",
  Effect.fn(function* (handlers) {
    const fleet = yield* Fleet
    const grants = yield* Grants
    const directory = yield* Directory
    const store = yield* RecordStore
    const access = yield* Access
    const idempotency = yield* Idempotency

    return handlers.handleAll({
      list: ({ query }) => Effect.map(storePage(store, "grants", Grant, query, whereOf(query)), values).pipe(orProblem),

      create: ({ payload, headers }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          return yield* idempotency.run(
            { caller: caller.person.id, operation: "grants.create", key: headers["idempotency-key"], body: payload },
            fleet.grant(encodeGrantInput(payload))
          )
        }).pipe(orProblem),

      delete: ({ params }) => fleet.revoke(params.id).pipe(orProblem),

      explain: ({ query }) =>
        Effect.gen(function* () {
          yield* access.person(yield* CurrentCaller, query.person, "read")
          const { decidedBy, ...explanation } = yield* fleet.explain(
            { kind: "person", id: query.person },
            { kind: query.kind, name: query.name }
          )
          return { ...explanation, ...(decidedBy !== undefined ? { decidedBy } : {}) }
        }).pipe(orProblem),

      effective: ({ params }) =>
        Effect.gen(function* () {
          yield* access.person(yield* CurrentCaller, params.id, "read")
          const person = (yield* directory.people.get(params.id)).value
          // Access follows from the owner alone, so a person's is that of any assistant they own,
          // and is defined for someone who owns none yet.
          const {
            tenant: _tenant,
            owner,
            ...effective
          } = yield* grants.accessOf({
            name: person.id,
            spec: { owner: person.id }
          } as unknown as Tenant)
          return { person: owner, ...effective }
        }).pipe(orProblem)
    })
  })
)
