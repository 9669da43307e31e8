import { Department, Fleet, RecordStore, Team } from "@clawfleet/core"
import { Effect, Schema } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ClawfleetApi } from "../Api.ts"
import { Idempotency } from "../Idempotency.ts"
import { storePage, values } from "../Paging.ts"
import { orProblem } from "../Problems.ts"
import { CurrentCaller } from "../Security.ts"

const encodeTeam = Schema.encodeSync(Team)
const encodeDepartment = Schema.encodeSync(Department)

export const TeamsHandlers = HttpApiBuilder.group(
  ClawfleetApi,
  "teams",
  Effect.fn(function* (handlers) {
    const fleet = yield* Fleet
    const store = yield* RecordStore
    const idempotency = yield* Idempotency
    return handlers.handleAll({
      list: ({ query }) =>
        Effect.map(
          storePage(store, "teams", Team, query, query.department === undefined ? [] : [["department", query.department]]),
          values
        ).pipe(orProblem),
      create: ({ payload, headers }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          return yield* idempotency.run(
            { caller: caller.person.id, operation: "teams.create", key: headers["idempotency-key"], body: payload },
            fleet.createTeam(encodeTeam(payload))
          )
        }).pipe(orProblem)
    })
  })
)

export const DepartmentsHandlers = HttpApiBuilder.group(
  ClawfleetApi,
  "departments",
  Effect.fn(function* (handlers) {
    const fleet = yield* Fleet
    const store = yield* RecordStore
    const idempotency = yield* Idempotency
    return handlers.handleAll({
      list: ({ query }) => Effect.map(storePage(store, "departments", Department, query), values).pipe(orProblem),
      create: ({ payload, headers }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          return yield* idempotency.run(
            { caller: caller.person.id, operation: "departments.create", key: headers["idempotency-key"], body: payload },
            fleet.createDepartment(encodeDepartment(payload))
          )
        }).pipe(orProblem)
    })
  })
)
