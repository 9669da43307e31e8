import { Clock, Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { StoreError } from "../../Errors.ts"
import { migrated } from "../../store/Migrations.ts"
import { fromSql } from "../../store/sqlErrors.ts"
import type { Admission, LedgerEntry, LedgerState, Metering, PeriodUsage, RefusalReason } from "../Metering.ts"
import {
  closingsError,
  expiryCutoff,
  ledgerLimitError,
  nextPeriodStart,
  periodOf,
  reservationError,
  reservationsError,
  usageError
} from "./meteringRules.ts"

// int8 columns arrive as bigint (binary protocol) or string (text protocol), depending on the driver.
type Int = bigint | string | number
const num = (value: Int | null | undefined): number => (value === null || value === undefined ? 0 : Number(value))

interface ReserveRow {
  readonly o_reason: RefusalReason | null
  readonly o_retry_after_ms: Int | null
  readonly o_spent_tokens: Int | null
  readonly o_reserved_tokens: Int | null
  readonly o_spent_micros: Int | null
  readonly o_reserved_micros: Int | null
}

interface LedgerRow {
  readonly request_id: string
  readonly tenant: string
  readonly period: string
  readonly model: string
  readonly state: LedgerState
  readonly reserved_tokens: Int
  readonly reserved_micros: Int
  readonly input_tokens: Int
  readonly output_tokens: Int
  readonly micros: Int
  readonly reserved_at: Int
  readonly closed_at: Int | null
  readonly note: string | null
}

const toEntry = (r: LedgerRow): LedgerEntry => ({
  requestId: r.request_id,
  tenant: r.tenant,
  period: r.period,
  model: r.model,
  state: r.state,
  reservedTokens: num(r.reserved_tokens),
  reservedMicros: num(r.reserved_micros),
  inputTokens: num(r.input_tokens),
  outputTokens: num(r.output_tokens),
  micros: num(r.micros),
  reservedAt: num(r.reserved_at),
  closedAt: r.closed_at === null ? undefined : num(r.closed_at),
  note: r.note ?? undefined
})

/**
 * Metering over any PostgreSQL `SqlClient`, shared by every replica. Each write is one call of a
 * PL/pgSQL function of migration 4, so it is one statement and one round trip: the function locks
 * the tenant's rows, checks and writes in the statement's own transaction. Time is read from the
 * Effect `Clock` and passed in, so the database clock plays no part.
 */
const admissionOf = (row: ReserveRow, at: number): Admission => {
  if (row.o_reason !== null) {
    const retry = row.o_retry_after_ms
    return { _tag: "Refused", reason: row.o_reason, retryAfterMs: retry === null ? undefined : num(retry) }
  }
  return {
    _tag: "Admitted",
    period: periodOf(at),
    spentTokens: num(row.o_spent_tokens),
    reservedTokens: num(row.o_reserved_tokens),
    spentMicros: num(row.o_spent_micros),
    reservedMicros: num(row.o_reserved_micros)
  }
}

export const makeSqlMetering = (options: { readonly schema?: string | undefined } = {}) =>
  Effect.gen(function* () {
    const schema = yield* migrated(options.schema)
    const sql = yield* SqlClient.SqlClient

    const name = (n: string) => sql.literal(`"${schema}".${n}`)
    const budgets = name("metering_budgets")
    const ledger = name("metering_ledger")
    const now = Effect.map(Clock.currentTimeMillis, Math.floor)

    const service: Metering["Service"] = {
      reserve: (request) => {
        const invalid = reservationError(request)
        if (invalid) return Effect.fail(invalid)
        const { limits } = request
        return Effect.flatMap(
          now,
          (at): Effect.Effect<Admission, StoreError> =>
            sql<ReserveRow>`select * from ${name("metering_reserve")}(
              ${request.requestId}::text, ${request.tenant}::text, ${request.model}::text,
              ${request.tokens}::bigint, ${request.micros}::bigint,
              ${limits.monthlyTokens ?? null}::bigint, ${limits.monthlyMicros ?? null}::bigint,
              ${limits.requestsPerMinute ?? null}::bigint, ${limits.tokensPerMinute ?? null}::bigint,
              ${at}::bigint, ${periodOf(at)}::text, ${nextPeriodStart(at)}::bigint)`.pipe(
              Effect.map(([row]): Admission => {
                if (row === undefined) throw new Error("metering_reserve returned no row")
                return admissionOf(row, at)
              }),
              Effect.mapError(fromSql)
            )
        )
      },

      reserveMany: (requests) => {
        const invalid = reservationsError(requests)
        if (invalid) return Effect.fail(invalid)
        if (requests.length === 0) return Effect.succeed([])
        const items = requests.map((r) => ({
          requestId: r.requestId,
          tenant: r.tenant,
          model: r.model,
          tokens: r.tokens,
          micros: r.micros,
          monthlyTokens: r.limits.monthlyTokens ?? null,
          monthlyMicros: r.limits.monthlyMicros ?? null,
          requestsPerMinute: r.limits.requestsPerMinute ?? null,
          tokensPerMinute: r.limits.tokensPerMinute ?? null
        }))
        return Effect.flatMap(now, (at) =>
          sql<ReserveRow & { n: Int }>`select * from ${name("metering_reserve_many")}(${JSON.stringify(items)}::jsonb,
            ${at}::bigint, ${periodOf(at)}::text, ${nextPeriodStart(at)}::bigint)`.pipe(
            Effect.map((rows) => {
              const out = new Array<Admission>(requests.length)
              for (const row of rows) out[num(row.n) - 1] = admissionOf(row, at)
              return out
            }),
            Effect.mapError(fromSql)
          )
        )
      },

      // One closing is a batch of one: the same statement, the same locks, the same answer.
      settle: (requestId, usage) => {
        const invalid = usageError(usage)
        if (invalid) return Effect.fail(invalid)
        return Effect.map(service.closeMany([{ requestId, settle: usage }]), (answers) => answers[0] === true)
      },

      release: (requestId, note) =>
        Effect.map(service.closeMany([{ requestId, release: note }]), (answers) => answers[0] === true).pipe(
          // A release carries no numbers to validate.
          Effect.catchTag("ValidationError", Effect.die)
        ),

      closeMany: (items) => {
        const invalid = closingsError(items)
        if (invalid) return Effect.fail(invalid)
        if (items.length === 0) return Effect.succeed([])
        const rows = items.map((item) =>
          "settle" in item
            ? {
                id: item.requestId,
                state: "settled",
                input: item.settle.inputTokens,
                output: item.settle.outputTokens,
                micros: item.settle.micros,
                note: null
              }
            : { id: item.requestId, state: "released", input: 0, output: 0, micros: 0, note: item.release }
        )
        return Effect.flatMap(now, (at) =>
          sql<{ id: string }>`select ${name("metering_close_many")}(${JSON.stringify(rows)}::jsonb, ${at}::bigint) as id`.pipe(
            Effect.map((closed) => {
              // Only the first item for an id can have closed it.
              const done = new Set(closed.map((r) => r.id))
              return items.map((item) => done.delete(item.requestId))
            }),
            Effect.mapError(fromSql)
          )
        )
      },

      releaseExpired: (olderThanMs) =>
        Effect.flatMap(now, (at) =>
          sql<{ released: Int }>`select ${name("metering_release_expired")}(${expiryCutoff(at, olderThanMs)}::bigint,
            ${at}::bigint) as released`.pipe(
            Effect.map((rows) => num(rows[0]?.released)),
            Effect.mapError(fromSql)
          )
        ),

      usage: (tenant, period) =>
        Effect.flatMap(now, (at) => {
          const p = period ?? periodOf(at)
          return sql<{
            spent_tokens: Int | null
            reserved_tokens: Int | null
            spent_micros: Int | null
            reserved_micros: Int | null
            requests: Int
          }>`select b.spent_tokens, b.reserved_tokens, b.spent_micros, b.reserved_micros,
              (select count(*) from ${ledger} l where l.tenant = ${tenant} and l.period = ${p}) as requests
            from (select 1) as one left join ${budgets} b on b.tenant = ${tenant} and b.period = ${p}`.pipe(
            Effect.map(
              ([row]): PeriodUsage => ({
                tenant,
                period: p,
                spentTokens: num(row?.spent_tokens),
                reservedTokens: num(row?.reserved_tokens),
                spentMicros: num(row?.spent_micros),
                reservedMicros: num(row?.reserved_micros),
                requests: num(row?.requests)
              })
            ),
            Effect.mapError(fromSql)
          )
        }),

      ledger: (tenant, options) => {
        const invalid = ledgerLimitError(options.limit)
        if (invalid) return Effect.fail(invalid)
        return Effect.flatMap(now, (at) => {
          const after = options.after === undefined ? sql`` : sql`and request_id > ${options.after}`
          return sql<LedgerRow>`select request_id, tenant, period, model, state, reserved_tokens, reserved_micros,
              input_tokens, output_tokens, micros, reserved_at, closed_at, note
            from ${ledger} where tenant = ${tenant} and period = ${options.period ?? periodOf(at)} ${after}
            order by request_id limit ${options.limit}`.pipe(
            Effect.map((rows) => rows.map(toEntry)),
            Effect.mapError(fromSql)
          )
        })
      }
    }
    return service
  })
