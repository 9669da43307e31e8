import { Audit, type LedgerEntry, Metering, Tenants } from "@clawfleet/core"
import { Effect, Option } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Access } from "../Access.ts"
import { ClawfleetApi } from "../Api.ts"
import { DEFAULT_LIMIT } from "../Paging.ts"
import { NotFound, orProblem } from "../Problems.ts"
import { CurrentCaller } from "../Security.ts"

// An open reservation has no `closedAt`, a settled one no `note`: absent, not undefined.
const entryOf = ({ closedAt, note, ...entry }: LedgerEntry) => ({
  ...entry,
  ...(closedAt !== undefined ? { closedAt } : {}),
  ...(note !== undefined ? { note } : {})
})

export const UsageHandlers = HttpApiBuilder.group(
  ClawfleetApi,
  "usage",
  Effect.fn(function* (handlers) {
    // Optional, so an embedding without a meter still serves the rest of the API.
    const metering = Option.getOrUndefined(yield* Effect.serviceOption(Metering))
    const tenants = yield* Tenants
    const access = yield* Access
    const noMeter = new NotFound({ detail: "this server meters no usage" })

    // The caller reaches the tenant, and it exists (a missing one is 404 for an org administrator).
    const reach = (name: string) =>
      Effect.gen(function* () {
        yield* access.tenant(yield* CurrentCaller, name, "read")
        yield* tenants.get(name)
      })

    return handlers.handleAll({
      get: ({ params, query }) =>
        metering === undefined
          ? Effect.fail(noMeter)
          : Effect.andThen(reach(params.name), metering.usage(params.name, query.period)).pipe(orProblem),
      ledger: ({ params, query }) =>
        Effect.gen(function* () {
          if (metering === undefined) return yield* noMeter
          yield* reach(params.name)
          const limit = query.limit ?? DEFAULT_LIMIT
          const rows = yield* metering.ledger(params.name, { period: query.period, after: query.after, limit: Math.min(limit + 1, 1000) })
          const items = rows.slice(0, limit).map(entryOf)
          return rows.length > limit ? { items, next: items[items.length - 1]!.requestId } : { items }
        }).pipe(orProblem)
    })
  })
)

export const AuditHandlers = HttpApiBuilder.group(
  ClawfleetApi,
  "audit",
  Effect.fn(function* (handlers) {
    const audit = yield* Audit
    return handlers.handleAll({
      list: ({ query }) =>
        Effect.gen(function* () {
          const limit = query.limit ?? DEFAULT_LIMIT
          const events = yield* audit.list({ afterSeq: query.after ?? 0, limit: limit + 1 })
          const items = events.slice(0, limit)
          return events.length > limit ? { items, next: String(items[items.length - 1]!.seq) } : { items }
        }).pipe(orProblem),
      verify: () => audit.verifyAuditChain.pipe(orProblem)
    })
  })
)
