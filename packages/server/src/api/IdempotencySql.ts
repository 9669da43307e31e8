import { randomUUID } from "node:crypto"
import { Clock, Effect, Exit, Schema } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { fingerprintOf, type IdempotentRequest, keyReused, type Run } from "./idempotencyRequest.ts"
import { Unavailable, unavailableFor } from "./Problems.ts"

export interface IdempotencySqlOptions {
  /** The PostgreSQL schema of clawfleet's tables (the store's). Default `clawfleet`. */
  readonly schema?: string | undefined
  /** How long a key is remembered. Default 24 hours. */
  readonly retentionMillis?: number | undefined
  /** How long a retry waits for the first request, running elsewhere, before answering 503. Default 10 seconds. */
  readonly waitMillis?: number | undefined
  /** How long a claim holds a key before its replica is presumed dead and another may run it. Default 60 seconds. */
  readonly leaseMillis?: number | undefined
  /**
   * The schema of each operation's success value. The value is stored in its JSON encoding and
   * decoded with the same schema on replay, so a replay answers the very type the first did.
   */
  readonly success: (operation: string) => Schema.Codec<unknown, unknown>
}

interface Row {
  readonly fingerprint: string
  readonly status: "pending" | "done"
  readonly value: unknown
  readonly expires_at: bigint | string | number
}

const POLL_MILLIS = 100
// Expired rows deleted per claim: enough to keep up with the keys written, never a long statement.
const PRUNE_BATCH = 100

const storeDown = (e: SqlError.SqlError) => new Unavailable({ detail: `the idempotency store does not answer: ${e.message}` })

export const makeSqlIdempotency = (options: IdempotencySqlOptions) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const keys = sql(`${options.schema ?? "clawfleet"}.idempotency_keys`)
    const retention = options.retentionMillis ?? 24 * 3_600_000
    const wait = options.waitMillis ?? 10_000
    const lease = options.leaseMillis ?? 60_000

    // A live row (done or pending) blocks the insert; an expired one, or a claim whose lease ran
    // out, is taken over by the same statement. Either way exactly one replica gets the row back.
    const claim = (request: IdempotentRequest & { readonly key: string }, fingerprint: string, holder: string, now: number) =>
      Effect.gen(function* () {
        yield* sql`delete from ${keys} where ctid in (select ctid from ${keys} where expires_at <= ${now} limit ${PRUNE_BATCH})`
        const won = yield* sql`insert into ${keys} as k (caller, key, fingerprint, operation, status, holder, created_at, expires_at)
          values (${request.caller}, ${request.key}, ${fingerprint}, ${request.operation}, 'pending', ${holder}, ${now}, ${now + lease})
          on conflict (caller, key) do update set fingerprint = excluded.fingerprint, operation = excluded.operation,
            status = 'pending', holder = excluded.holder, value = null, created_at = excluded.created_at, expires_at = excluded.expires_at
          where k.expires_at <= ${now}
          returning holder`
        return won.length > 0
      })

    const forget = (request: IdempotentRequest, holder: string) =>
      sql`delete from ${keys} where caller = ${request.caller} and key = ${request.key!} and holder = ${holder}`

    // The operation already succeeded: failing to remember it must not turn its answer into an
    // error. The claim then lapses with its lease, and a retry after that runs again.
    const remember = (request: IdempotentRequest, holder: string, value: unknown, at: number) =>
      Effect.gen(function* () {
        const encoded = yield* Schema.encodeUnknownEffect(Schema.toCodecJson(options.success(request.operation)))(value)
        yield* sql`update ${keys} set status = 'done', value = ${JSON.stringify(encoded)}::jsonb, expires_at = ${at + retention}
          where caller = ${request.caller} and key = ${request.key!} and holder = ${holder}`
      }).pipe(
        Effect.catchCause((cause) =>
          Effect.andThen(
            Effect.logWarning(`Idempotency-Key not remembered for ${request.operation}`, cause),
            Effect.ignore(forget(request, holder))
          )
        )
      )

    const run: Run = Effect.fn("Idempotency.run")(function* <A, E, R>(request: IdempotentRequest, self: Effect.Effect<A, E, R>) {
      if (request.key === undefined) return yield* self
      const keyed = { ...request, key: request.key }
      const fingerprint = fingerprintOf(request.operation, request.body)
      const holder = randomUUID()
      const deadline = (yield* Clock.currentTimeMillis) + wait
      while (true) {
        const now = yield* Clock.currentTimeMillis
        if (yield* claim(keyed, fingerprint, holder, now).pipe(Effect.mapError(storeDown))) {
          return yield* Effect.onExit(self, (exit) =>
            Exit.isSuccess(exit) ? remember(request, holder, exit.value, now) : Effect.ignore(forget(request, holder))
          )
        }
        const [row] = yield* sql<Row>`select fingerprint, status, value, expires_at from ${keys}
          where caller = ${request.caller} and key = ${request.key}`.pipe(Effect.mapError(storeDown))
        // Gone (the first run failed) or expired since the claim: claim again.
        if (row === undefined || Number(row.expires_at) <= now) continue
        if (row.fingerprint !== fingerprint) return yield* keyReused()
        if (row.status === "done") {
          const decoded = yield* Schema.decodeUnknownEffect(Schema.toCodecJson(options.success(request.operation)))(row.value).pipe(
            Effect.option
          )
          if (decoded._tag === "Some") return decoded.value as A
          // Stored by a release whose answer had another shape: run again, as after expiry.
          yield* Effect.logWarning(`Idempotency-Key answer for ${request.operation} no longer decodes; running the request again`)
          yield* sql`delete from ${keys} where caller = ${request.caller} and key = ${request.key} and status = 'done'`.pipe(
            Effect.mapError(storeDown)
          )
          continue
        }
        if (now >= deadline) {
          return yield* unavailableFor("a request with this Idempotency-Key is still running; retry shortly for its answer", 1)
        }
        yield* Effect.sleep(POLL_MILLIS)
      }
    })
    return { run }
  })
