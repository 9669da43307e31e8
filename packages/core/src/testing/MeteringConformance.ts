import { assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import type { Metering } from "../proxy/Metering.ts"
import { admissionScenarios } from "./metering/admission.ts"
import { closingScenarios } from "./metering/closing.ts"
import { ledgerScenarios } from "./metering/ledger.ts"
import { refused, req, startAt, tenantOf, zero } from "./metering/support.ts"

export interface MeteringConformanceOptions {
  /** How many reserves race for one tenant's budget (default 1,000). */
  readonly concurrentReserves?: number
  /** The monthly token budget they race for, one token each (default 100). */
  readonly concurrentBudget?: number
}

/**
 * The behaviour every `Metering` layer must show, run by the memory, PGlite and PostgreSQL layers
 * alike. Each suite builds its layer once; the tests use tenants of their own, and times of their
 * own so `releaseExpired` sees only its test's reservations.
 */
export const meteringConformance = <E, R>(
  name: string,
  meteringLayer: Layer.Layer<Metering | R, E>,
  options: MeteringConformanceOptions = {}
) =>
  describe(`metering conformance: ${name}`, () => {
    layer(meteringLayer, { timeout: 120_000, excludeTestServices: true })((it) => {
      admissionScenarios(it)
      closingScenarios(it)
      ledgerScenarios(it)

      const racers = options.concurrentReserves ?? 1000
      const budget = options.concurrentBudget ?? 100
      it.effect(`admits exactly ${budget} of ${racers} concurrent reserves, then closes them all once`, () =>
        Effect.gen(function* () {
          const { m, t0 } = yield* startAt("2031-11-20T00:00:00Z")
          const t = tenantOf("race")
          const limits = { monthlyTokens: budget, requestsPerMinute: racers * 10, tokensPerMinute: racers * 10 }
          const ids = Array.from({ length: racers }, (_, i) => `r-${String(i).padStart(6, "0")}`)
          const results = yield* Effect.forEach(ids, (id) => m.reserve(req(t, id, 1, limits)), { concurrency: "unbounded" })
          const admitted = ids.filter((_, i) => results[i]!._tag === "Admitted")
          assert.strictEqual(admitted.length, budget)
          const untilNextMonth = Date.parse("2031-12-01") - t0
          for (const r of results) if (r._tag === "Refused") assert.deepStrictEqual(r, refused("MonthlyTokens", untilNextMonth))
          assert.deepStrictEqual(yield* m.usage(t), {
            tenant: t,
            period: "2031-11",
            ...zero,
            reservedTokens: budget,
            reservedMicros: budget,
            requests: budget
          })

          // Each admitted request is settled and released at once; exactly one of the two wins.
          const closes = yield* Effect.forEach(
            admitted,
            (id, i) =>
              Effect.all(
                [m.settle(`${t}/${id}`, { inputTokens: i % 3, outputTokens: i % 2, micros: i % 5 }), m.release(`${t}/${id}`, "race")],
                { concurrency: 2 }
              ),
            { concurrency: "unbounded" }
          )
          for (const [settled, released] of closes) assert.notStrictEqual(settled, released)
          const rows = yield* m.ledger(t, { limit: Math.min(1000, Math.max(1, budget)) })
          const settled = rows.filter((r) => r.state === "settled")
          assert.strictEqual(settled.length, closes.filter(([s]) => s).length)
          assert.isTrue(rows.every((r) => r.state !== "reserved"))
          const usage = yield* m.usage(t)
          assert.strictEqual(usage.reservedTokens, 0)
          assert.strictEqual(usage.reservedMicros, 0)
          assert.strictEqual(
            usage.spentTokens,
            settled.reduce((sum, r) => sum + r.inputTokens + r.outputTokens, 0)
          )
          assert.strictEqual(
            usage.spentMicros,
            settled.reduce((sum, r) => sum + r.micros, 0)
          )
        })
      )
    })
  })
