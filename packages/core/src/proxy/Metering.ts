import { Context, Effect, Layer } from "effect"
import type { SqlClient } from "effect/sql"
import type { StoreError, ValidationError } from "../Errors.ts"
import { makeMemoryMetering } from "./internal/meteringMemory.ts"
import { makeSqlMetering } from "./internal/meteringSql.ts"

export { nextPeriodStart, periodOf } from "./internal/meteringRules.ts"

/**
 * Limits that apply to one tenant. Absent means unlimited. Money is counted in micro-dollars
 * (millionths of a US dollar) so sums are exact integers in memory and in SQL.
 */
export interface MeteringLimits {
  readonly monthlyTokens?: number | undefined
  readonly monthlyMicros?: number | undefined
  /** A token bucket of this many requests, refilled continuously over a minute. */
  readonly requestsPerMinute?: number | undefined
  /** A token bucket of this many LLM tokens, refilled continuously over a minute. */
  readonly tokensPerMinute?: number | undefined
}

/** What a request asks to hold before it goes upstream: an upper bound of what it can cost. */
export interface ReservationRequest {
  /** Unique per request across every tenant and replica; settle and release are keyed by it. */
  readonly requestId: string
  readonly tenant: string
  readonly model: string
  /** Estimated input tokens plus the most output tokens the upstream was allowed to produce. */
  readonly tokens: number
  /** The cost of `tokens` at the model's prices, rounded up. */
  readonly micros: number
  readonly limits: MeteringLimits
}

/** Where the tenant's month stands right after an admission, counting what is still reserved. */
export interface BudgetStanding {
  /** The UTC calendar month the reservation counts against, `YYYY-MM`. */
  readonly period: string
  readonly spentTokens: number
  readonly reservedTokens: number
  readonly spentMicros: number
  readonly reservedMicros: number
}

export type RefusalReason = "MonthlyTokens" | "MonthlyMicros" | "RequestsPerMinute" | "TokensPerMinute" | "DuplicateRequest"

export type Admission =
  | ({ readonly _tag: "Admitted" } & BudgetStanding)
  | {
      readonly _tag: "Refused"
      readonly reason: RefusalReason
      /**
       * When trying again can succeed: the refill time for a rate limit, the start of the next
       * month for a budget. Undefined when it never can (a request larger than a limit, a
       * duplicate id).
       */
      readonly retryAfterMs: number | undefined
    }

/** What the upstream reported a request actually used. */
export interface ActualUsage {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly micros: number
}

/** One reservation to close: settled at what it used, or released with a reason. */
export type Closing =
  | { readonly requestId: string; readonly settle: ActualUsage }
  | { readonly requestId: string; readonly release: string }

export type LedgerState = "reserved" | "settled" | "released"

/** One row per admitted request: its reservation, then what it settled at or why it was released. */
export interface LedgerEntry {
  readonly requestId: string
  readonly tenant: string
  readonly period: string
  readonly model: string
  readonly state: LedgerState
  readonly reservedTokens: number
  readonly reservedMicros: number
  /** Zero unless settled. */
  readonly inputTokens: number
  readonly outputTokens: number
  readonly micros: number
  /** Epoch milliseconds. */
  readonly reservedAt: number
  readonly closedAt: number | undefined
  /** Why it was released (`upstream-error`, `client-disconnect`, `expired`, ...). */
  readonly note: string | undefined
}

export interface PeriodUsage extends BudgetStanding {
  readonly tenant: string
  readonly requests: number
}

/**
 * Budgets, rate limits and the usage ledger of the token proxy. Every method is one atomic step in
 * the store, so any number of proxy replicas can share one database without overspending:
 * `reserve` checks the month's budget and both per-minute buckets and holds the estimate, all or
 * nothing; `settle` swaps the hold for what was used; `release` gives it back. Settle and release
 * act only on a request that is still reserved, so repeating either (a retry after a lost reply)
 * never charges twice. Time comes from the Effect `Clock`.
 */
export class Metering extends Context.Service<
  Metering,
  {
    /**
     * Fails with a ValidationError naming the field when an id is empty or longer than 256
     * characters, a count is not a non-negative safe integer, or a per-minute limit exceeds
     * 150,119,987,579 (the largest whose bucket is exact).
     */
    readonly reserve: (request: ReservationRequest) => Effect.Effect<Admission, StoreError | ValidationError>
    /**
     * Reserves for many requests in one step, each decided as `reserve` alone would decide it
     * (requests of one tenant in the order given). Fails with a ValidationError, reserving
     * nothing, when any request is malformed.
     */
    readonly reserveMany: (
      requests: ReadonlyArray<ReservationRequest>
    ) => Effect.Effect<ReadonlyArray<Admission>, StoreError | ValidationError>
    /**
     * True when this call settled it; false when it was already settled, released or unknown.
     * Fails with a ValidationError when a count is not a non-negative safe integer.
     */
    readonly settle: (requestId: string, usage: ActualUsage) => Effect.Effect<boolean, StoreError | ValidationError>
    /** True when this call released it; false when it was already settled, released or unknown. */
    readonly release: (requestId: string, note: string) => Effect.Effect<boolean, StoreError>
    /**
     * Settles and releases many reservations in one step (the token proxy closes requests in
     * batches under load). Each answer is what `settle` or `release` alone would have answered;
     * of two items for one request the first decides. Fails with a ValidationError, closing
     * nothing, when an item's usage is invalid.
     */
    readonly closeMany: (items: ReadonlyArray<Closing>) => Effect.Effect<ReadonlyArray<boolean>, StoreError | ValidationError>
    /**
     * Releases reservations older than `olderThanMs` (a replica that died mid-request), noting
     * `expired`. Returns how many. A negative or non-finite age is a defect.
     */
    readonly releaseExpired: (olderThanMs: number) => Effect.Effect<number, StoreError>
    /** The tenant's standing in `period` (default: the current month). */
    readonly usage: (tenant: string, period?: string) => Effect.Effect<PeriodUsage, StoreError>
    /**
     * Ledger rows of a tenant in a period (default: the current month), by request id, after
     * `after`, keyset-paginated. Fails with a ValidationError for a limit outside 1–1000.
     */
    readonly ledger: (
      tenant: string,
      options: { readonly period?: string | undefined; readonly after?: string | undefined; readonly limit: number }
    ) => Effect.Effect<ReadonlyArray<LedgerEntry>, StoreError | ValidationError>
  }
>()("@clawfleet/core/Metering") {
  /** In process memory: one replica only, for tests and embedding without a database. */
  static readonly layerMemory: Layer.Layer<Metering> = Layer.effect(Metering, makeMemoryMetering)

  /** Over a PostgreSQL `SqlClient` shared by every replica; migrates the schema (default `clawfleet`) at start. */
  static layerSql(options: { readonly schema?: string | undefined } = {}): Layer.Layer<Metering, never, SqlClient.SqlClient> {
    return Layer.effect(Metering, Effect.orDie(makeSqlMetering(options)))
  }
}
