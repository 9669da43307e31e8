import { createHash } from "node:crypto"
import { Text } from "@clawfleet/core"
import { Clock, Context, Deferred, Effect, Exit, Layer, Schema } from "effect"
import { IdempotencyKeyReused } from "./Problems.ts"

/**
 * `Idempotency-Key` on creates: a client that retries after a timeout gets the first answer
 * instead of a 409 or a second record. The same key with the same body within the retention
 * window answers with the first result; the same key with another body (or on another operation)
 * is refused with 422. A retry that arrives while the first is still running waits for it.
 *
 * Kept in this process's memory: a retry that lands on another replica, or after a restart, runs
 * again (and a create then answers 409, which is safe, just less friendly). A store-backed
 * implementation of the same service would close that gap; the handlers would not change.
 * Only successes are remembered: a failed create changed nothing and may simply be retried.
 */

export const IdempotencyKey = Text(255).check(Schema.isMinLength(1, { message: "must not be empty" }))

/** The request header, for operation definitions. */
export const idempotencyHeader = { "idempotency-key": Schema.optionalKey(IdempotencyKey) }

export interface IdempotencyOptions {
  /** How long a key is remembered. Default 24 hours. */
  readonly retentionMillis?: number | undefined
  /** Keys remembered at most; the oldest go first. Default 100,000. */
  readonly maxEntries?: number | undefined
}

interface Entry {
  readonly fingerprint: string
  readonly at: number
  readonly outcome: Deferred.Deferred<unknown, unknown>
}

// Keys sorted, so two bodies that differ only in key order count as the same request.
const canonical = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(canonical)
    : value !== null && typeof value === "object"
      ? Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((k) => [k, canonical((value as Record<string, unknown>)[k])])
        )
      : value

const fingerprintOf = (operation: string, body: unknown) =>
  createHash("sha256")
    .update(operation)
    .update("\u0000")
    .update(JSON.stringify(canonical(JSON.parse(JSON.stringify(body ?? null)))))
    .digest("hex")

export class Idempotency extends Context.Service<
  Idempotency,
  {
    /** Runs `self` once per (caller, key): see the module comment. No key: just runs it. */
    readonly run: <A, E, R>(
      request: { readonly caller: string; readonly operation: string; readonly key: string | undefined; readonly body: unknown },
      self: Effect.Effect<A, E, R>
    ) => Effect.Effect<A, E | IdempotencyKeyReused, R>
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

      const run = <A, E, R>(
        request: { readonly caller: string; readonly operation: string; readonly key: string | undefined; readonly body: unknown },
        self: Effect.Effect<A, E, R>
      ): Effect.Effect<A, E | IdempotencyKeyReused, R> => {
        if (request.key === undefined) return self
        const id = `${request.caller}\u0000${request.key}`
        const fingerprint = fingerprintOf(request.operation, request.body)
        return Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          prune(now)
          const seen = entries.get(id)
          if (seen !== undefined) {
            if (seen.fingerprint !== fingerprint) {
              return yield* new IdempotencyKeyReused({
                detail: "this Idempotency-Key was first sent with another request body or operation; use a new key for a new request"
              })
            }
            return (yield* Deferred.await(seen.outcome)) as A
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
}
