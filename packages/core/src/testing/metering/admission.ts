import { assert, type Vitest } from "@effect/vitest"
import { Effect } from "effect"
import type { Metering } from "../../proxy/Metering.ts"
import { refused, req, startAt, tenantOf, zero } from "./support.ts"

/** Admission: the standing, each refusal reason, the per-minute buckets and the order of checks. */
export const admissionScenarios = (it: Vitest.MethodsNonLive<Metering>) => {
  it.effect("admits within the limits and returns the standing after the reservation", () =>
    Effect.gen(function* () {
      const { m, t0 } = yield* startAt("2031-03-10T12:00:00Z")
      const t = tenantOf("standing")
      const limits = { monthlyTokens: 10_000, monthlyMicros: 1_000_000 }
      const first = yield* m.reserve(req(t, "a", 100, limits, 700))
      assert.deepStrictEqual(first, { _tag: "Admitted", period: "2031-03", ...zero, reservedTokens: 100, reservedMicros: 700 })
      assert.isTrue(yield* m.settle(`${t}/a`, { inputTokens: 30, outputTokens: 40, micros: 500 }))
      const second = yield* m.reserve(req(t, "b", 200, limits, 900))
      const standing = { period: "2031-03", spentTokens: 70, reservedTokens: 200, spentMicros: 500, reservedMicros: 900 }
      assert.deepStrictEqual(second, { _tag: "Admitted", ...standing })
      assert.deepStrictEqual(yield* m.usage(t), { tenant: t, ...standing, requests: 2 })
      const rows = yield* m.ledger(t, { limit: 10 })
      const common = { tenant: t, period: "2031-03", model: "test-model", reservedAt: t0, note: undefined }
      assert.deepStrictEqual(rows, [
        {
          ...common,
          requestId: `${t}/a`,
          state: "settled",
          reservedTokens: 100,
          reservedMicros: 700,
          inputTokens: 30,
          outputTokens: 40,
          micros: 500,
          closedAt: t0
        },
        {
          ...common,
          requestId: `${t}/b`,
          state: "reserved",
          reservedTokens: 200,
          reservedMicros: 900,
          inputTokens: 0,
          outputTokens: 0,
          micros: 0,
          closedAt: undefined
        }
      ])
    })
  )

  it.effect("refuses past the monthly tokens until next month, changes nothing, and charges the month reserved in", () =>
    Effect.gen(function* () {
      const { m, clock } = yield* startAt("2031-01-31T23:59:00Z")
      const t = tenantOf("monthly")
      const limits = { monthlyTokens: 100 }
      assert.strictEqual((yield* m.reserve(req(t, "a", 60, limits)))._tag, "Admitted")
      const before = yield* m.usage(t)
      assert.deepStrictEqual(yield* m.reserve(req(t, "b", 50, limits)), refused("MonthlyTokens", 60_000))
      assert.deepStrictEqual(yield* m.reserve(req(t, "huge", 101, limits)), refused("MonthlyTokens", undefined))
      assert.deepStrictEqual(yield* m.usage(t), before)
      assert.strictEqual((yield* m.ledger(t, { limit: 10 })).length, 1)
      // Exactly at the limit is within it.
      assert.strictEqual((yield* m.reserve(req(t, "c", 40, limits)))._tag, "Admitted")
      assert.deepStrictEqual(yield* m.reserve(req(t, "d", 1, limits)), refused("MonthlyTokens", 60_000))

      yield* clock.adjust(60_000)
      const february = yield* m.reserve(req(t, "b", 50, limits))
      assert.deepStrictEqual(february, { _tag: "Admitted", period: "2031-02", ...zero, reservedTokens: 50, reservedMicros: 50 })
      assert.isTrue(yield* m.settle(`${t}/a`, { inputTokens: 10, outputTokens: 20, micros: 25 }))
      const january = yield* m.usage(t, "2031-01")
      assert.deepStrictEqual(january, {
        tenant: t,
        period: "2031-01",
        spentTokens: 30,
        reservedTokens: 40,
        spentMicros: 25,
        reservedMicros: 40,
        requests: 2
      })
      assert.deepStrictEqual(yield* m.usage(t), {
        tenant: t,
        period: "2031-02",
        ...zero,
        reservedTokens: 50,
        reservedMicros: 50,
        requests: 1
      })
      const [settled] = yield* m.ledger(t, { period: "2031-01", limit: 1 })
      assert.strictEqual(settled?.state, "settled")
      assert.strictEqual(settled?.period, "2031-01")
    })
  )

  it.effect("refuses past the monthly micros, and reports monthly tokens first", () =>
    Effect.gen(function* () {
      const { m, t0 } = yield* startAt("2031-04-30T00:00:00Z")
      const t = tenantOf("micros")
      const limits = { monthlyTokens: 1000, monthlyMicros: 5000 }
      const untilMay = Date.parse("2031-05-01T00:00:00Z") - t0
      assert.strictEqual((yield* m.reserve(req(t, "a", 10, limits, 4000)))._tag, "Admitted")
      assert.deepStrictEqual(yield* m.reserve(req(t, "b", 10, limits, 2000)), refused("MonthlyMicros", untilMay))
      assert.deepStrictEqual(yield* m.reserve(req(t, "c", 2000, limits, 6000)), refused("MonthlyTokens", undefined))
      assert.deepStrictEqual(yield* m.reserve(req(t, "d", 10, limits, 6000)), refused("MonthlyMicros", undefined))
      assert.deepStrictEqual(yield* m.reserve(req(t, "e", 1, { monthlyMicros: 0 }, 1)), refused("MonthlyMicros", undefined))
      assert.strictEqual((yield* m.usage(t)).requests, 1)
    })
  )

  it.effect("refuses a duplicate request id, from any tenant and before any limit, changing nothing", () =>
    Effect.gen(function* () {
      const { m } = yield* startAt("2031-02-10T00:00:00Z")
      const t = tenantOf("dup")
      const other = tenantOf("dup-other")
      assert.strictEqual((yield* m.reserve(req(t, "a", 10)))._tag, "Admitted")
      const before = yield* m.usage(t)
      assert.deepStrictEqual(yield* m.reserve(req(t, "a", 10)), refused("DuplicateRequest"))
      assert.deepStrictEqual(yield* m.reserve(req(t, "a", 10, { monthlyTokens: 0, requestsPerMinute: 0 })), refused("DuplicateRequest"))
      assert.deepStrictEqual(yield* m.reserve({ ...req(other, "x", 10), requestId: `${t}/a` }), refused("DuplicateRequest"))
      assert.deepStrictEqual(yield* m.usage(other), { tenant: other, period: "2031-02", ...zero, requests: 0 })
      assert.isTrue(yield* m.settle(`${t}/a`, { inputTokens: 1, outputTokens: 1, micros: 1 }))
      assert.deepStrictEqual(yield* m.reserve(req(t, "a", 10)), refused("DuplicateRequest"))
      assert.deepStrictEqual(yield* m.usage(t), { ...before, spentTokens: 2, spentMicros: 1, reservedTokens: 0, reservedMicros: 0 })
    })
  )

  it.effect("limits requests per minute with a token bucket and an exact Retry-After", () =>
    Effect.gen(function* () {
      const { m, clock } = yield* startAt("2031-05-01T00:00:00Z")
      const t = tenantOf("rpm")
      const limits = { requestsPerMinute: 3 }
      for (const id of ["a", "b", "c"]) assert.strictEqual((yield* m.reserve(req(t, id, 1, limits)))._tag, "Admitted")
      assert.deepStrictEqual(yield* m.reserve(req(t, "d", 1, limits)), refused("RequestsPerMinute", 20_000))
      assert.strictEqual((yield* m.usage(t)).requests, 3)
      yield* clock.adjust(19_999)
      assert.deepStrictEqual(yield* m.reserve(req(t, "d", 1, limits)), refused("RequestsPerMinute", 1))
      yield* clock.adjust(1)
      assert.strictEqual((yield* m.reserve(req(t, "d", 1, limits)))._tag, "Admitted")
      assert.deepStrictEqual(yield* m.reserve(req(t, "e", 1, limits)), refused("RequestsPerMinute", 20_000))
      // A zero limit refuses every request, for good.
      assert.deepStrictEqual(yield* m.reserve(req(tenantOf("rpm-zero"), "a", 1, { requestsPerMinute: 0 })), refused("RequestsPerMinute"))
    })
  )

  it.effect("limits tokens per minute, corrected by settle and refunded by release", () =>
    Effect.gen(function* () {
      const { m, clock } = yield* startAt("2031-06-01T00:00:00Z")
      const t = tenantOf("tpm")
      const limits = { tokensPerMinute: 1000 }
      assert.strictEqual((yield* m.reserve(req(t, "a", 600, limits)))._tag, "Admitted")
      assert.deepStrictEqual(yield* m.reserve(req(t, "b", 600, limits)), refused("TokensPerMinute", 12_000))
      assert.deepStrictEqual(yield* m.reserve(req(t, "huge", 1001, limits)), refused("TokensPerMinute"))
      // Used 100 of 600: 500 come back, so 900 are there at once.
      assert.isTrue(yield* m.settle(`${t}/a`, { inputTokens: 60, outputTokens: 40, micros: 1 }))
      assert.strictEqual((yield* m.reserve(req(t, "b", 600, limits)))._tag, "Admitted")
      assert.isTrue(yield* m.release(`${t}/b`, "upstream-error"))
      assert.strictEqual((yield* m.reserve(req(t, "c", 900, limits)))._tag, "Admitted")
      // Used 1,500 of 900: the bucket owes 600 and refills from there.
      assert.isTrue(yield* m.settle(`${t}/c`, { inputTokens: 1000, outputTokens: 500, micros: 1 }))
      assert.deepStrictEqual(yield* m.reserve(req(t, "d", 100, limits)), refused("TokensPerMinute", 42_000))
      yield* clock.adjust(42_000)
      assert.strictEqual((yield* m.reserve(req(t, "d", 100, limits)))._tag, "Admitted")

      // A correction applies to the bucket as refilled by now: one that sat full cannot also
      // bank the refill it had no room for.
      const late = tenantOf("tpm-late")
      assert.strictEqual((yield* m.reserve(req(late, "a", 1000, limits)))._tag, "Admitted")
      yield* clock.adjust(120_000)
      assert.isTrue(yield* m.settle(`${late}/a`, { inputTokens: 1000, outputTokens: 500, micros: 1 }))
      assert.deepStrictEqual(yield* m.reserve(req(late, "b", 600, limits)), refused("TokensPerMinute", 6_000))
    })
  )

  it.effect("checks requests before tokens, takes each call's limits and tracks no bucket without a limit", () =>
    Effect.gen(function* () {
      const { m, clock, t0 } = yield* startAt("2031-07-01T00:00:00Z")
      const t = tenantOf("order")
      assert.strictEqual((yield* m.reserve(req(t, "a", 100, { requestsPerMinute: 1, tokensPerMinute: 100 })))._tag, "Admitted")
      assert.deepStrictEqual(
        yield* m.reserve(req(t, "b", 100, { requestsPerMinute: 1, tokensPerMinute: 100 })),
        refused("RequestsPerMinute", 60_000)
      )
      assert.deepStrictEqual(yield* m.reserve(req(t, "b", 100, { tokensPerMinute: 100 })), refused("TokensPerMinute", 60_000))
      assert.strictEqual((yield* m.reserve(req(t, "b", 100, {})))._tag, "Admitted")

      // A lowered limit clamps what the bucket holds; raising it again refills no faster.
      const c = tenantOf("clamp")
      assert.strictEqual((yield* m.reserve(req(c, "a", 10, { tokensPerMinute: 1000 })))._tag, "Admitted")
      assert.strictEqual((yield* m.reserve(req(c, "b", 100, { tokensPerMinute: 100 })))._tag, "Admitted")
      assert.deepStrictEqual(yield* m.reserve(req(c, "c", 1, { tokensPerMinute: 100 })), refused("TokensPerMinute", 600))
      assert.deepStrictEqual(yield* m.reserve(req(c, "c", 1, { tokensPerMinute: 1000 })), refused("TokensPerMinute", 60))

      // Unlimited requests leave no bucket behind: one set later starts full.
      const u = tenantOf("untracked")
      for (let i = 0; i < 5; i++) assert.strictEqual((yield* m.reserve(req(u, `free-${i}`, 1)))._tag, "Admitted")
      assert.strictEqual((yield* m.reserve(req(u, "a", 1, { requestsPerMinute: 2 })))._tag, "Admitted")
      assert.strictEqual((yield* m.reserve(req(u, "b", 1, { requestsPerMinute: 2 })))._tag, "Admitted")
      assert.deepStrictEqual(yield* m.reserve(req(u, "c", 1, { requestsPerMinute: 2 })), refused("RequestsPerMinute", 30_000))

      // A replica whose clock is behind refills nothing and does not wind the bucket back.
      const s = tenantOf("skew")
      const limits = { requestsPerMinute: 2 }
      assert.strictEqual((yield* m.reserve(req(s, "a", 1, limits)))._tag, "Admitted")
      yield* clock.setTime(t0 - 30_000)
      assert.strictEqual((yield* m.reserve(req(s, "b", 1, limits)))._tag, "Admitted")
      assert.deepStrictEqual(yield* m.reserve(req(s, "c", 1, limits)), refused("RequestsPerMinute", 30_000))
      yield* clock.setTime(t0 + 10_000)
      assert.deepStrictEqual(yield* m.reserve(req(s, "c", 1, limits)), refused("RequestsPerMinute", 20_000))
    })
  )
}
