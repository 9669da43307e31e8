import { assert, describe, layer } from "@effect/vitest"
import { Clock, Effect, type Layer } from "effect"
import { TestClock } from "effect/testing"
import type { ValidationError } from "../Errors.ts"
import { type Admission, Metering, type MeteringLimits, type ReservationRequest } from "../proxy/Metering.ts"

export interface MeteringConformanceOptions {
  /** How many reserves race for one tenant's budget (default 1,000). */
  readonly concurrentReserves?: number
  /** The monthly token budget they race for, one token each (default 100). */
  readonly concurrentBudget?: number
}

type Service = Metering["Service"]

/**
 * The suite runs its layer on live services, since connection pools keep time and a test clock
 * that never moves would stall them. Each test instead makes a TestClock of its own and hands it
 * to the metering calls only, which read nothing but `Clock.currentTimeMillis`: time stands still
 * unless the test moves it, and rate limits are checked to the millisecond on every layer, SQL
 * included, without real waits.
 */
const onClock = (metering: Service, clock: Clock.Clock): Service => {
  const at = <A, E>(self: Effect.Effect<A, E>) => Effect.provideService(self, Clock.Clock, clock)
  return {
    reserve: (request) => at(metering.reserve(request)),
    reserveMany: (requests) => at(metering.reserveMany(requests)),
    settle: (requestId, usage) => at(metering.settle(requestId, usage)),
    release: (requestId, note) => at(metering.release(requestId, note)),
    closeMany: (items) => at(metering.closeMany(items)),
    releaseExpired: (olderThanMs) => at(metering.releaseExpired(olderThanMs)),
    usage: (tenant, period) => at(metering.usage(tenant, period)),
    ledger: (tenant, options) => at(metering.ledger(tenant, options))
  }
}

const startAt = (iso: string) =>
  Effect.gen(function* () {
    const clock = yield* TestClock.make()
    yield* clock.setTime(Date.parse(iso))
    return { m: onClock(yield* Metering, clock), clock, t0: Date.parse(iso) }
  })

// Tenants of one run of the suite, so a store that outlives it does not mix runs.
const run = Math.random().toString(36).slice(2, 8)
const tenantOf = (name: string) => `${run}-${name}`

const req = (tenant: string, id: string, tokens: number, limits: MeteringLimits = {}, micros = tokens): ReservationRequest => ({
  requestId: `${tenant}/${id}`,
  tenant,
  model: "test-model",
  tokens,
  micros,
  limits
})

const refused = (reason: Extract<Admission, { _tag: "Refused" }>["reason"], retryAfterMs?: number): Admission => ({
  _tag: "Refused",
  reason,
  retryAfterMs
})

const zero = { spentTokens: 0, reservedTokens: 0, spentMicros: 0, reservedMicros: 0 }

const issuePaths = (e: ValidationError) => e.issues.map((i) => i.path)

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
          assert.deepStrictEqual(
            yield* m.reserve(req(tenantOf("rpm-zero"), "a", 1, { requestsPerMinute: 0 })),
            refused("RequestsPerMinute")
          )
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
          const longest = { ...req("t".repeat(256), "x", 1), requestId: `${run}-${"r".repeat(256)}`.slice(0, 256) }
          assert.strictEqual((yield* m.reserve(longest))._tag, "Admitted")
          assert.strictEqual((yield* m.reserve(good))._tag, "Admitted")
          const error = yield* Effect.flip(m.settle(good.requestId, { inputTokens: -5, outputTokens: 1, micros: 0.5 }))
          assert.strictEqual(error._tag, "ValidationError")
          if (error._tag === "ValidationError") assert.deepStrictEqual(issuePaths(error), ["inputTokens", "micros"])
          assert.strictEqual((yield* m.ledger(t, { limit: 1 }))[0]?.state, "reserved")
        })
      )

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
