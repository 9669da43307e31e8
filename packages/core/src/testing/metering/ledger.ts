import { assert, type Vitest } from "@effect/vitest"
import { Effect } from "effect"
import type { Metering, ReservationRequest } from "../../proxy/Metering.ts"
import { issuePaths, refused, req, startAt, tenantOf, zero } from "./support.ts"

/** What is charged, expiry, usage and the ledger, isolation between tenants, and malformed input. */
export const ledgerScenarios = (it: Vitest.MethodsNonLive<Metering>) => {
  it.effect("settles above or below the reservation at what was used", () =>
    Effect.gen(function* () {
      const { m } = yield* startAt("2031-09-15T00:00:00Z")
      const t = tenantOf("actual")
      const limits = { monthlyTokens: 300 }
      yield* m.reserve(req(t, "below", 100, limits))
      assert.isTrue(yield* m.settle(`${t}/below`, { inputTokens: 30, outputTokens: 10, micros: 4 }))
      yield* m.reserve(req(t, "above", 100, limits))
      assert.isTrue(yield* m.settle(`${t}/above`, { inputTokens: 200, outputTokens: 50, micros: 30 }))
      assert.deepStrictEqual(yield* m.usage(t), {
        tenant: t,
        period: "2031-09",
        ...zero,
        spentTokens: 290,
        spentMicros: 34,
        requests: 2
      })
      assert.strictEqual((yield* m.reserve(req(t, "fits", 10, limits)))._tag, "Admitted")
      assert.deepStrictEqual(
        yield* m.reserve(req(t, "over", 1, limits)),
        refused("MonthlyTokens", Date.parse("2031-10-01") - Date.parse("2031-09-15"))
      )
    })
  )

  it.effect("releases reservations older than the given age, and only those", () =>
    Effect.gen(function* () {
      // Long before every other test's reservations, which must not count here.
      const { m, clock, t0 } = yield* startAt("2001-02-03T04:05:06Z")
      const t = tenantOf("expiry")
      yield* m.reserve(req(t, "a", 400, { tokensPerMinute: 1000 }))
      yield* m.reserve(req(t, "b", 300, { tokensPerMinute: 1000 }))
      yield* m.reserve(req(t, "settled", 1))
      yield* m.settle(`${t}/settled`, { inputTokens: 1, outputTokens: 0, micros: 1 })
      yield* clock.adjust(4 * 60_000)
      yield* m.reserve(req(t, "c", 100, { tokensPerMinute: 1000 }))
      yield* clock.adjust(2 * 60_000)
      assert.strictEqual(yield* m.releaseExpired(5 * 60_000), 2)
      assert.strictEqual(yield* m.releaseExpired(5 * 60_000), 0)
      const rows = yield* m.ledger(t, { limit: 10 })
      assert.deepStrictEqual(
        rows.map((r) => [r.requestId.slice(t.length + 1), r.state, r.note, r.closedAt]),
        [
          ["a", "released", "expired", t0 + 6 * 60_000],
          ["b", "released", "expired", t0 + 6 * 60_000],
          ["c", "reserved", undefined, undefined],
          ["settled", "settled", undefined, t0]
        ]
      )
      assert.deepStrictEqual(yield* m.usage(t), {
        tenant: t,
        period: "2001-02",
        spentTokens: 1,
        reservedTokens: 100,
        spentMicros: 1,
        reservedMicros: 100,
        requests: 4
      })
      assert.isFalse(yield* m.settle(`${t}/a`, { inputTokens: 1, outputTokens: 1, micros: 1 }))
      // Exactly at the age is not older than it.
      assert.strictEqual(yield* m.releaseExpired(2 * 60_000), 0)
      yield* clock.adjust(1)
      assert.strictEqual(yield* m.releaseExpired(2 * 60_000), 1)
      assert.deepStrictEqual(yield* m.usage(t), { tenant: t, period: "2001-02", ...zero, spentTokens: 1, spentMicros: 1, requests: 4 })
    })
  )

  it.effect("reports usage per month and pages the ledger by request id", () =>
    Effect.gen(function* () {
      const { m, clock } = yield* startAt("2031-10-15T00:00:00Z")
      const t = tenantOf("pages")
      const ids = Array.from({ length: 25 }, (_, i) => `r-${String(i).padStart(2, "0")}`)
      // Reserved out of order: the ledger orders by id, not by time.
      for (const id of [...ids].reverse()) yield* m.reserve(req(t, id, 2))
      for (const [i, id] of ids.entries()) {
        if (i % 5 === 0) yield* m.release(`${t}/${id}`, "client-disconnect")
        else if (i % 2 === 0) yield* m.settle(`${t}/${id}`, { inputTokens: 1, outputTokens: 0, micros: 1 })
      }
      const seen: Array<string> = []
      let after: string | undefined
      let pages = 0
      while (true) {
        const page = yield* m.ledger(t, { after, limit: 10 })
        if (page.length === 0) break
        pages++
        seen.push(...page.map((r) => r.requestId))
        after = page[page.length - 1]!.requestId
      }
      assert.strictEqual(pages, 3)
      assert.deepStrictEqual(
        seen,
        ids.map((id) => `${t}/${id}`)
      )
      const usage = yield* m.usage(t)
      assert.deepStrictEqual(usage, {
        tenant: t,
        period: "2031-10",
        spentTokens: 10,
        reservedTokens: 20,
        spentMicros: 10,
        reservedMicros: 20,
        requests: 25
      })
      for (const limit of [0, 1001, 2.5, -1, Number.NaN]) {
        const error = yield* Effect.flip(m.ledger(t, { limit }))
        assert.strictEqual(error._tag, "ValidationError")
        if (error._tag === "ValidationError") assert.deepStrictEqual(issuePaths(error), ["limit"])
      }
      assert.deepStrictEqual(yield* m.ledger(t, { period: "2031-09", limit: 10 }), [])
      assert.deepStrictEqual(yield* m.usage(t, "2031-09"), { tenant: t, period: "2031-09", ...zero, requests: 0 })
      assert.deepStrictEqual(yield* m.usage(tenantOf("nobody")), {
        tenant: tenantOf("nobody"),
        period: "2031-10",
        ...zero,
        requests: 0
      })
      yield* clock.setTime(Date.parse("2031-11-01T00:00:00Z"))
      yield* m.reserve(req(t, "november", 1))
      assert.strictEqual((yield* m.ledger(t, { limit: 1000 })).length, 1)
      assert.strictEqual((yield* m.ledger(t, { period: "2031-10", limit: 1000 })).length, 25)
      assert.strictEqual((yield* m.usage(t, "2031-10")).requests, 25)
    })
  )

  it.effect("keeps each tenant's budget and buckets to itself", () =>
    Effect.gen(function* () {
      const { m } = yield* startAt("2031-12-01T00:00:00Z")
      const a = tenantOf("iso-a")
      const b = tenantOf("iso-b")
      const limits = { monthlyTokens: 100, requestsPerMinute: 1, tokensPerMinute: 100 }
      assert.strictEqual((yield* m.reserve(req(a, "1", 100, limits)))._tag, "Admitted")
      assert.strictEqual((yield* m.reserve(req(a, "2", 1, limits)))._tag, "Refused")
      assert.deepStrictEqual(yield* m.reserve(req(b, "1", 100, limits)), {
        _tag: "Admitted",
        period: "2031-12",
        ...zero,
        reservedTokens: 100,
        reservedMicros: 100
      })
      yield* m.settle(`${a}/1`, { inputTokens: 5, outputTokens: 5, micros: 5 })
      assert.strictEqual((yield* m.usage(b)).spentTokens, 0)
      assert.strictEqual((yield* m.usage(b)).reservedTokens, 100)
      assert.strictEqual((yield* m.ledger(b, { limit: 10 })).length, 1)
    })
  )

  it.effect("refuses malformed input naming the field, and records nothing", () =>
    Effect.gen(function* () {
      const { m } = yield* startAt("2031-02-01T00:00:00Z")
      const t = tenantOf("input")
      const good = req(t, "good", 10)
      const cases: ReadonlyArray<readonly [string, ReservationRequest]> = [
        ["tokens", { ...good, tokens: -1 }],
        ["micros", { ...good, micros: 1.5 }],
        ["tokens", { ...good, tokens: Number.MAX_SAFE_INTEGER + 1 }],
        ["requestId", { ...good, requestId: "" }],
        ["tenant", { ...good, tenant: "x".repeat(257) }],
        ["model", { ...good, model: "" }],
        ["limits.tokensPerMinute", { ...good, limits: { tokensPerMinute: -1 } }],
        ["limits.monthlyTokens", { ...good, limits: { monthlyTokens: Number.NaN } }],
        ["limits.requestsPerMinute", { ...good, limits: { requestsPerMinute: Number.POSITIVE_INFINITY } }]
      ]
      for (const [path, bad] of cases) {
        const error = yield* Effect.flip(m.reserve(bad))
        assert.strictEqual(error._tag, "ValidationError", path)
        if (error._tag === "ValidationError") assert.deepStrictEqual(issuePaths(error), [path])
      }
      assert.deepStrictEqual(yield* m.usage(t), { tenant: t, period: "2031-02", ...zero, requests: 0 })
      const longest = { ...req("t".repeat(256), "x", 1), requestId: tenantOf("r".repeat(256)).slice(0, 256) }
      assert.strictEqual((yield* m.reserve(longest))._tag, "Admitted")
      assert.strictEqual((yield* m.reserve(good))._tag, "Admitted")
      const error = yield* Effect.flip(m.settle(good.requestId, { inputTokens: -5, outputTokens: 1, micros: 0.5 }))
      assert.strictEqual(error._tag, "ValidationError")
      if (error._tag === "ValidationError") assert.deepStrictEqual(issuePaths(error), ["inputTokens", "micros"])
      assert.strictEqual((yield* m.ledger(t, { limit: 1 }))[0]?.state, "reserved")
    })
  )
}
