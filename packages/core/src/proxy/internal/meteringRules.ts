import { type FieldIssue, ValidationError } from "../../Errors.ts"
import type { ActualUsage, Closing, ReservationRequest } from "../Metering.ts"

// The rules both metering implementations share. The SQL functions of migration 4 spell the same
// arithmetic in PL/pgSQL; keep the two in step.

/** `YYYY-MM` of an epoch-millisecond instant, in UTC. */
export const periodOf = (epochMs: number): string => new Date(epochMs).toISOString().slice(0, 7)

/** Epoch milliseconds at which the month after `epochMs`'s begins, in UTC. */
export const nextPeriodStart = (epochMs: number): number => {
  const d = new Date(epochMs)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
}

/**
 * Bucket levels count sixty-thousandths of a request or token, so a bucket of capacity C refills
 * exactly C units per millisecond: every level, refill and cost is a whole number, held exactly by
 * a double (and by PostgreSQL's double precision), and Retry-After needs no rounding slack.
 */
export const UNITS_PER_TOKEN = 60_000

/** The largest per-minute limit whose full bucket is still an exact whole number of units. */
export const MAX_RATE_LIMIT = Math.floor(Number.MAX_SAFE_INTEGER / UNITS_PER_TOKEN)

export const MAX_ID_LENGTH = 256
export const MAX_LEDGER_PAGE = 1000

/** A token bucket as stored: its level in units, the capacity it was last used with, when it was last refilled. */
export interface Bucket {
  readonly level: number
  readonly capacity: number
  readonly at: number
}

/**
 * The bucket brought to `now` under the current `capacity`: a bucket never seen starts full, a
 * level never exceeds the capacity (so a lowered limit clamps it), and a clock behind the last
 * refill (another replica's) refills nothing and does not move the refill time back.
 */
export const refill = (bucket: Bucket | undefined, capacity: number, now: number): Bucket => {
  const full = capacity * UNITS_PER_TOKEN
  if (bucket === undefined) return { level: full, capacity, at: now }
  const elapsed = Math.max(0, now - bucket.at)
  return { level: Math.min(full, bucket.level + elapsed * capacity), capacity, at: Math.max(bucket.at, now) }
}

/**
 * Undefined when the refilled bucket holds `cost`, else how long until it will: whole
 * milliseconds, exact because levels are whole units. Null when it never will (a cost above the
 * capacity, or a bucket that does not refill).
 */
export const shortfall = (bucket: Bucket, cost: number): number | null | undefined => {
  const need = cost * UNITS_PER_TOKEN
  if (bucket.level >= need) return undefined
  if (cost > bucket.capacity || bucket.capacity === 0) return null
  return Math.ceil((need - bucket.level) / bucket.capacity)
}

/** Adds `tokens` (negative for more debt) to a bucket already refilled to now; it may go below zero, never above full. */
export const credit = (bucket: Bucket, tokens: number): Bucket => ({
  ...bucket,
  level: Math.min(bucket.capacity * UNITS_PER_TOKEN, bucket.level + tokens * UNITS_PER_TOKEN)
})

const isCount = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 0

const idIssue = (path: string, value: unknown): ReadonlyArray<FieldIssue> => {
  if (typeof value !== "string" || value.length === 0) return [{ path, message: "must be a non-empty string" }]
  if (value.length > MAX_ID_LENGTH) return [{ path, message: `must be at most ${MAX_ID_LENGTH} characters` }]
  // PostgreSQL text cannot hold NUL; refusing it here keeps the memory store from accepting what SQL cannot.
  if (value.includes("\u0000")) return [{ path, message: "must not contain a NUL character" }]
  return []
}

const countIssue = (path: string, value: unknown, max = Number.MAX_SAFE_INTEGER): ReadonlyArray<FieldIssue> =>
  isCount(value) && value <= max ? [] : [{ path, message: `must be a whole number from 0 to ${max}` }]

/** Every problem with a reservation, each naming its field; undefined when there is none. */
export const reservationError = (request: ReservationRequest): ValidationError | undefined => {
  const limits = (request.limits ?? {}) as Record<string, unknown>
  const optional = (name: string, max?: number) => (limits[name] === undefined ? [] : countIssue(`limits.${name}`, limits[name], max))
  const issues = [
    ...idIssue("requestId", request.requestId),
    ...idIssue("tenant", request.tenant),
    ...idIssue("model", request.model),
    ...countIssue("tokens", request.tokens),
    ...countIssue("micros", request.micros),
    ...(typeof request.limits === "object" && request.limits !== null ? [] : [{ path: "limits", message: "must be an object" }]),
    ...optional("monthlyTokens"),
    ...optional("monthlyMicros"),
    ...optional("requestsPerMinute", MAX_RATE_LIMIT),
    ...optional("tokensPerMinute", MAX_RATE_LIMIT)
  ]
  return issues.length === 0 ? undefined : new ValidationError({ subject: "reservation", issues })
}

export const usageError = (usage: ActualUsage): ValidationError | undefined => {
  const issues = [
    ...countIssue("inputTokens", usage.inputTokens),
    ...countIssue("outputTokens", usage.outputTokens),
    ...countIssue("micros", usage.micros)
  ]
  return issues.length === 0 ? undefined : new ValidationError({ subject: "usage", issues })
}

/** The first malformed request of a batch, named by its position. */
export const reservationsError = (requests: ReadonlyArray<ReservationRequest>): ValidationError | undefined => {
  for (let i = 0; i < requests.length; i++) {
    const invalid = reservationError(requests[i]!)
    if (invalid) {
      return new ValidationError({ subject: invalid.subject, issues: invalid.issues.map((x) => ({ ...x, path: `[${i}].${x.path}` })) })
    }
  }
  return undefined
}

/** The first invalid usage among closings, named by its position. */
export const closingsError = (items: ReadonlyArray<Closing>): ValidationError | undefined => {
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!
    if (!("settle" in item)) continue
    const invalid = usageError(item.settle)
    if (invalid) return new ValidationError({ subject: "usage", issues: invalid.issues.map((x) => ({ ...x, path: `[${i}].${x.path}` })) })
  }
  return undefined
}

// Worded like the repositories' page limit, so callers meet one message for one mistake.
export const ledgerLimitError = (limit: number): ValidationError | undefined =>
  Number.isInteger(limit) && limit >= 1 && limit <= MAX_LEDGER_PAGE
    ? undefined
    : new ValidationError({
        subject: "page request",
        issues: [{ path: "limit", message: `must be a whole number from 1 to ${MAX_LEDGER_PAGE}` }]
      })

/** The cutoff of `releaseExpired`: a negative or non-finite age is a bug in the caller, not input. */
export const expiryCutoff = (now: number, olderThanMs: number): number => {
  if (!(Number.isFinite(olderThanMs) && olderThanMs >= 0)) {
    throw new Error(`releaseExpired needs a non-negative number of milliseconds, got ${olderThanMs}`)
  }
  // Ledger times are whole milliseconds, so `reservedAt < cutoff` means the same for the ceiling.
  return Math.ceil(now - olderThanMs)
}
