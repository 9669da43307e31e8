import { createHash } from "node:crypto"
import type { Effect } from "effect"
import { IdempotencyKeyReused, type Unavailable } from "./Problems.ts"

/** One create under an `Idempotency-Key`: the key is remembered per caller. */
export interface IdempotentRequest {
  readonly caller: string
  readonly operation: string
  readonly key: string | undefined
  readonly body: unknown
}

export type Run = <A, E, R>(
  request: IdempotentRequest,
  self: Effect.Effect<A, E, R>
) => Effect.Effect<A, E | IdempotencyKeyReused | Unavailable, R>

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

/** The operation and the body as JSON: what makes a retry "the same request". */
export const fingerprintOf = (operation: string, body: unknown) =>
  createHash("sha256")
    .update(operation)
    .update("\u0000")
    .update(JSON.stringify(canonical(JSON.parse(JSON.stringify(body ?? null)))))
    .digest("hex")

export const keyReused = () =>
  new IdempotencyKeyReused({
    detail: "this Idempotency-Key was first sent with another request body or operation; use a new key for a new request"
  })
