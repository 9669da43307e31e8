import { assert, type Vitest } from "@effect/vitest"
import { Effect } from "effect"
import type { Metering } from "../../proxy/Metering.ts"
import { req, startAt, tenantOf } from "./support.ts"

/** Closing: settle and release once, and batches of reservations and closings. */
export const closingScenarios = (it: Vitest.MethodsNonLive<Metering>) => {
  it.effect("settles or releases a reservation once: repeats and the other close return false", () =>
    Effect.gen(function* () {
      const { m, t0 } = yield* startAt("2031-08-01T00:00:00Z")
      const t = tenantOf("once")
      for (const id of ["a", "b", "c"]) yield* m.reserve(req(t, id, 100, { monthlyTokens: 1000 }, 10))
      assert.isTrue(yield* m.settle(`${t}/a`, { inputTokens: 40, outputTokens: 10, micros: 7 }))
      assert.isFalse(yield* m.settle(`${t}/a`, { inputTokens: 999, outputTokens: 999, micros: 999 }))
      assert.isFalse(yield* m.release(`${t}/a`, "late"))
      assert.isTrue(yield* m.release(`${t}/b`, "upstream-error"))
      assert.isFalse(yield* m.release(`${t}/b`, "again"))
      assert.isFalse(yield* m.settle(`${t}/b`, { inputTokens: 1, outputTokens: 1, micros: 1 }))
      assert.isFalse(yield* m.settle(`${t}/nobody`, { inputTokens: 1, outputTokens: 1, micros: 1 }))
      assert.isFalse(yield* m.release(`${t}/nobody`, "unknown"))
      assert.deepStrictEqual(yield* m.usage(t), {
        tenant: t,
        period: "2031-08",
        spentTokens: 50,
        reservedTokens: 100,
        spentMicros: 7,
        reservedMicros: 10,
        requests: 3
      })
      const rows = yield* m.ledger(t, { limit: 10 })
      assert.deepStrictEqual(
        rows.map((r) => [r.state, r.inputTokens, r.outputTokens, r.micros, r.note, r.closedAt]),
        [
          ["settled", 40, 10, 7, undefined, t0],
          ["released", 0, 0, 0, "upstream-error", t0],
          ["reserved", 0, 0, 0, undefined, undefined]
        ]
      )
    })
  )

  it.effect("reserves many at once as one by one would", () =>
    Effect.gen(function* () {
      const { m } = yield* startAt("2031-08-05T00:00:00Z")
      const t = tenantOf("rmany")
      const u = tenantOf("rmany-other")
      const limits = { monthlyTokens: 250 }
      const answers = yield* m.reserveMany([
        req(t, "a", 100, limits),
        req(u, "x", 50, limits),
        req(t, "b", 100, limits),
        req(t, "a", 1, limits),
        req(t, "c", 100, limits)
      ])
      assert.deepStrictEqual(
        answers.map((a) => (a._tag === "Admitted" ? [a._tag, a.reservedTokens] : [a._tag, a.reason])),
        [
          ["Admitted", 100],
          ["Admitted", 50],
          ["Admitted", 200],
          ["Refused", "DuplicateRequest"],
          ["Refused", "MonthlyTokens"]
        ]
      )
      assert.deepStrictEqual(yield* m.reserveMany([]), [])
      assert.deepInclude(yield* m.usage(t), { reservedTokens: 200, requests: 2 })
      const bad = yield* Effect.flip(m.reserveMany([req(u, "y", 1), { ...req(u, "z", 1), tokens: -5 }]))
      assert.strictEqual(bad._tag, "ValidationError")
      assert.include(bad.message, "[1].tokens")
      assert.deepInclude(yield* m.usage(u), { reservedTokens: 50, requests: 1 }, "a malformed batch reserves nothing")
    })
  )

  it.effect("never overspends under concurrent batches across tenants", () =>
    Effect.gen(function* () {
      const { m } = yield* startAt("2031-08-07T00:00:00Z")
      const tenants = Array.from({ length: 5 }, (_, i) => tenantOf(`rbatch-${i}`))
      const batches = Array.from({ length: 20 }, (_, b) =>
        Array.from({ length: 50 }, (_, i) => req(tenants[(b + i) % tenants.length]!, `b${b}-${i}`, 1, { monthlyTokens: 100 }))
      )
      const answers = (yield* Effect.forEach(batches, (batch) => m.reserveMany(batch), { concurrency: "unbounded" })).flat()
      for (const t of tenants) {
        const usage = yield* m.usage(t)
        assert.strictEqual(usage.reservedTokens, 100, `${t} holds exactly its budget`)
      }
      assert.strictEqual(answers.filter((a) => a._tag === "Admitted").length, 500)
    })
  )

  it.effect("closes many at once as one by one would, the first item for an id deciding", () =>
    Effect.gen(function* () {
      const { m } = yield* startAt("2031-08-10T00:00:00Z")
      const t = tenantOf("many")
      const u = tenantOf("many-other")
      const limits = { monthlyTokens: 1000, tokensPerMinute: 400 }
      for (const id of ["a", "b", "c"]) yield* m.reserve(req(t, id, 100, limits, 10))
      yield* m.reserve(req(u, "x", 100, limits, 10))
      const answers = yield* m.closeMany([
        { requestId: `${t}/a`, settle: { inputTokens: 20, outputTokens: 10, micros: 3 } },
        { requestId: `${t}/b`, release: "upstream-error" },
        { requestId: `${t}/a`, release: "too late" },
        { requestId: `${t}/nobody`, release: "unknown" },
        { requestId: `${u}/x`, settle: { inputTokens: 150, outputTokens: 0, micros: 20 } }
      ])
      assert.deepStrictEqual(answers, [true, true, false, false, true])
      assert.deepStrictEqual(yield* m.closeMany([{ requestId: `${t}/a`, release: "again" }]), [false])
      assert.deepStrictEqual(yield* m.closeMany([]), [])
      assert.deepInclude(yield* m.usage(t), { spentTokens: 30, reservedTokens: 100, spentMicros: 3, reservedMicros: 10 })
      assert.deepInclude(yield* m.usage(u), { spentTokens: 150, reservedTokens: 0, spentMicros: 20 })
      // The TPM buckets were corrected as single closes would: t, left with 100, got back 70 + 100;
      // u, left with 300, owes 50 more.
      assert.strictEqual((yield* m.reserve(req(t, "over", 271, { tokensPerMinute: 400 })))._tag, "Refused")
      assert.strictEqual((yield* m.reserve(req(t, "fits", 270, { tokensPerMinute: 400 })))._tag, "Admitted")
      assert.strictEqual((yield* m.reserve(req(u, "over", 251, { tokensPerMinute: 400 })))._tag, "Refused")
      assert.strictEqual((yield* m.reserve(req(u, "fits", 250, { tokensPerMinute: 400 })))._tag, "Admitted")
      const rows = yield* m.ledger(t, { limit: 10 })
      assert.deepStrictEqual(
        rows.map((r) => [r.requestId.slice(t.length + 1), r.state, r.note]),
        [
          ["a", "settled", undefined],
          ["b", "released", "upstream-error"],
          ["c", "reserved", undefined],
          ["fits", "reserved", undefined]
        ]
      )
      const bad = yield* Effect.flip(
        m.closeMany([
          { requestId: `${t}/c`, release: "fine" },
          { requestId: `${t}/fits`, settle: { inputTokens: -1, outputTokens: 0, micros: 0 } }
        ])
      )
      assert.strictEqual(bad._tag, "ValidationError")
      assert.include(bad.message, "[1].inputTokens")
      assert.strictEqual((yield* m.ledger(t, { limit: 10 }))[2]?.state, "reserved", "an invalid batch closes nothing")
    })
  )

  it.effect("closes overlapping batches across tenants concurrently, each request once", () =>
    Effect.gen(function* () {
      const { m } = yield* startAt("2031-08-20T00:00:00Z")
      const tenants = Array.from({ length: 6 }, (_, i) => tenantOf(`batch-${i}`))
      const ids: Array<string> = []
      for (const t of tenants) {
        for (let i = 0; i < 20; i++) {
          yield* m.reserve(req(t, `r${i}`, 5, { monthlyTokens: 10_000, tokensPerMinute: 10_000 }, 1))
          ids.push(`${t}/r${i}`)
        }
      }
      // Eight batches, each holding every id in an order of its own (rotated, every other one
      // reversed), half settling and half releasing.
      const batches = Array.from({ length: 8 }, (_, b) => {
        const rotated = [...ids.slice(b * 15), ...ids.slice(0, b * 15)]
        return (b % 2 === 0 ? rotated : rotated.reverse()).map((requestId) =>
          b % 2 === 0 ? { requestId, settle: { inputTokens: 2, outputTokens: 1, micros: 1 } } : { requestId, release: `batch ${b}` }
        )
      })
      const answers = yield* Effect.forEach(batches, (batch) => m.closeMany(batch), { concurrency: "unbounded" })
      for (const id of ids) {
        const wins = batches.filter((batch, b) => answers[b]![batch.findIndex((item) => item.requestId === id)])
        assert.strictEqual(wins.length, 1, `${id} closed once`)
      }
      for (const t of tenants) {
        const usage = yield* m.usage(t)
        const rows = yield* m.ledger(t, { limit: 100 })
        assert.strictEqual(usage.reservedTokens, 0)
        assert.strictEqual(usage.spentTokens, rows.filter((r) => r.state === "settled").length * 3)
      }
    })
  )
}
