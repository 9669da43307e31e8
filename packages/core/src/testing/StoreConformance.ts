import { describe, layer } from "@effect/vitest"
import type { Effect, Layer } from "effect"
import type * as Store from "../Store.ts"
import { auditScenarios, tamperScenarios } from "./store/audit.ts"
import { concurrencyScenarios } from "./store/concurrency.ts"
import { recordScenarios } from "./store/records.ts"
import { transactionScenarios } from "./store/transactions.ts"

export interface StoreConformanceOptions<R> {
  /**
   * Behind the store's back: `rewrite` alters the stored body of audit event `seq`, `dropNewest`
   * deletes the newest event, to prove both are detected. Pass `{ skip: "why" }` when the
   * implementation gives no such access.
   */
  readonly tamper:
    | {
        readonly rewrite: (seq: number) => Effect.Effect<void, unknown, R>
        readonly dropNewest: Effect.Effect<void, unknown, R>
      }
    | { readonly skip: string }
  /** How many concurrent `modify` writers to run against one record (default 1,000). */
  readonly writers?: number
  /** How many concurrent optimistic (read, update, retry) writers (default 100). */
  readonly optimisticWriters?: number
}

/**
 * The behaviour every store layer must show, run by the memory, PGlite and PostgreSQL layers
 * alike (and by any store you write: give it your layer). Each suite builds its layer once; the
 * scenarios use ids of their own so they do not see each other.
 */
export const storeConformance = <E, R>(
  name_: string,
  storeLayer: Layer.Layer<Store.Services | R, E>,
  options: StoreConformanceOptions<R>
) =>
  describe(`store conformance: ${name_}`, () => {
    // Live services: connection pools keep time, and a test clock that never moves stalls them.
    layer(storeLayer, { timeout: 120_000, excludeTestServices: true })((it) => {
      recordScenarios(it)
      concurrencyScenarios(it, options)
      transactionScenarios(it)
      auditScenarios(it)

      // Last: they break the chain for the rest of this layer.
      tamperScenarios(it, options)
    })
  })
