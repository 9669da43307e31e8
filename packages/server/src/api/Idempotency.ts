import { Store, Text } from "@clawfleet/core"
import { Clock, Context, Deferred, Effect, Exit, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { type IdempotencySqlOptions, makeSqlIdempotency } from "./IdempotencySql.ts"
import { fingerprintOf, type IdempotentRequest, keyReused, type Run } from "./idempotencyRequest.ts"
import type { IdempotencyKeyReused } from "./Problems.ts"

/**
 * `Idempotency-Key` on creates: a client that retries after a timeout gets the first answer
 * instead of a 409 or a second record. The same key with the same body within the retention
 * window answers with the first result; the same key with another body (or on another operation)
 * is refused with 422. Keys are per caller. Only successes are remembered: a failed create changed
 * nothing and may simply be retried under the same key.
 *
 * `layerSql` keeps the keys in the store's database, so they hold across replicas and restarts.
 * The first request claims its key with one insert, so of two replicas racing only one runs the
 * create. A retry that finds the claim still pending polls for the answer for up to `waitMillis`
 * (10 seconds), then answers 503 with `Retry-After`: the first is still running, and asking again
 * shortly gets its answer; a 409 would read as "already exists", which it may not yet be. A claim
 * outlives a replica that dies holding it only for `leaseMillis` (60 seconds); after that another
 * replica runs the create again, which then answers 409 if the first had got as far as writing.
 * Answers are stored in their JSON encoding under each operation's success schema and decoded
 * with it on replay. Expired rows are ignored and deleted, a bounded batch at each claim.
 *
 * `layerMemory` keeps them in this process: a retry that lands on another replica, or after a
 * restart, runs again (and a create then answers 409, which is safe, just less friendly). It is
 * for the memory store, which is one process anyway; a retry there waits for the first however long.
 */

export const IdempotencyKey = Text(255).check(Schema.isMinLength(1, { message: "must not be empty" }))

/** The request header, for operation definitions. */
export const idempotencyHeader = { "idempotency-key": Schema.optionalKey(IdempotencyKey) }

export interface IdempotencyOptions {
  /** How long a key is remembered. Default 24 hours. */
  readonly retentionMillis?: number | undefined
  /** Keys remembered at most, in memory only; the oldest go first. Default 100,000. */
  readonly maxEntries?: number | undefined
}

export type { IdempotencySqlOptions }

interface Entry {
  readonly fingerprint: string
  readonly at: number
  readonly outcome: Deferred.Deferred<unknown, unknown>
}

export class Idempotency extends Context.Service<
  Idempotency,
  {
    /** Runs `self` once per (caller, key): see the module comment. No key: just runs it. */
    readonly run: Run
  }
>()("@clawfleet/server/api/Idempotency") {
  static layerMemory(options: IdempotencyOptions = {}): Layer.Layer<Idempotency> {
    return Layer.sync(Idempotency, () => {
      const retention = options.retentionMillis ?? 24 * 3_600_000
      const maxEntries = options.maxEntries ?? 100_000
      // Insertion order is age order: expiry and eviction take from the front.
      const entries = new Map<string, Entry>()
      const prune = (now: number) => {
        for (const [k, e] of entries) {
          if (now - e.at < retention && entries.size < maxEntries) break
          entries.delete(k)
        }
      }

      const run = <A, E, R>(request: IdempotentRequest, self: Effect.Effect<A, E, R>): Effect.Effect<A, E | IdempotencyKeyReused, R> => {
        if (request.key === undefined) return self
        const id = `${request.caller}\u0000${request.key}`
        const fingerprint = fingerprintOf(request.operation, request.body)
        return Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          prune(now)
          const seen = entries.get(id)
          if (seen !== undefined) {
            if (seen.fingerprint !== fingerprint) return yield* keyReused()
            return yield* Deferred.await(seen.outcome)
          }
          const outcome = Deferred.makeUnsafe<unknown, unknown>()
          entries.set(id, { fingerprint, at: now, outcome })
          return yield* Effect.onExit(self, (exit) =>
            Effect.sync(() => {
              if (Exit.isFailure(exit)) entries.delete(id)
              Deferred.doneUnsafe(outcome, exit)
            })
          )
        }) as Effect.Effect<A, E | IdempotencyKeyReused, R>
      }
      return Idempotency.of({ run })
    })
  }

  /**
   * Over the store's `SqlClient` (PostgreSQL or PGlite), shared by every replica. Brings the
   * store's schema up to date at start, as the store itself does: core owns the migrations.
   */
  static layerSql(options: IdempotencySqlOptions): Layer.Layer<Idempotency, never, SqlClient.SqlClient> {
    return Layer.effect(Idempotency, Effect.map(makeSqlIdempotency(options), Idempotency.of)).pipe(
      Layer.provide(Store.layerSql({ schema: options.schema }))
    )
  }

  /** `layerSql` when a `SqlClient` is provided (the store is SQL), `layerMemory` otherwise. */
  static layer(options: IdempotencyOptions & Pick<IdempotencySqlOptions, "success">): Layer.Layer<Idempotency> {
    return Layer.unwrap(
      Effect.map(Effect.serviceOption(SqlClient.SqlClient), (client) =>
        client._tag === "Some"
          ? Idempotency.layerSql(options).pipe(Layer.provide(Layer.succeed(SqlClient.SqlClient, client.value)))
          : Idempotency.layerMemory(options)
      )
    )
  }
}
