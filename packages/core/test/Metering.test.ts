import { meteringConformance } from "@clawfleet/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { makeMemoryMetering } from "../src/proxy/internal/meteringMemory.ts"
import { type Admission, Metering } from "../src/proxy/Metering.ts"

meteringConformance("memory", Metering.layerMemory)

/**
 * The rate limits against a reference written from what a token bucket of capacity C refilled at
 * C per minute promises, not from its level: a request is admitted exactly when, for every window
 * ending now and starting at an earlier admission (or now), what was admitted in the window plus
 * the request is at most C + C·(window length)/60,000. It waits for the shortest time after which
 * every window fits. Exact rational arithmetic (BigInt, in sixty-thousandths), so no rounding can
 * hide an off-by-one.
 */
class WindowReference {
  private readonly admitted: Array<{ readonly at: bigint; readonly cost: bigint }> = []
  private readonly capacity: number
  constructor(capacity: number) {
    this.capacity = capacity
  }

  /** Undefined when it fits now; else the wait, or null when it never fits. */
  wait(now: number, cost: number): number | null | undefined {
    const c = BigInt(this.capacity)
    const t = BigInt(now)
    const need = BigInt(cost)
    let worst = 0n
    for (const { at: start } of [...this.admitted, { at: t }]) {
      const inWindow = this.admitted.reduce((sum, e) => (e.at >= start ? sum + e.cost : sum), 0n)
      const excess = (inWindow + need - c) * 60_000n - c * (t - start)
      if (excess > worst) worst = excess
    }
    if (worst <= 0n) return undefined
    if (cost > this.capacity || c === 0n) return null
    return Number((worst + c - 1n) / c)
  }

  admit(now: number, cost: number) {
    this.admitted.push({ at: BigInt(now), cost: BigInt(cost) })
  }
}

const decisionOf = (a: Admission) => (a._tag === "Admitted" ? "Admitted" : `${a.reason} ${a.retryAfterMs}`)

interface Scenario {
  readonly rpm: number | undefined
  readonly tpm: number | undefined
  readonly steps: ReadonlyArray<{ readonly advance: number; readonly tokens: number; readonly retry: boolean }>
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  rpm: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
  tpm: fc.option(fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 5000 })), { nil: undefined }),
  steps: fc.array(
    fc.record({
      advance: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 90_000 })),
      tokens: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 6000 })),
      retry: fc.boolean()
    }),
    { minLength: 1, maxLength: 60 }
  )
})

const runScenario = (s: Scenario) =>
  Effect.gen(function* () {
    const metering = yield* makeMemoryMetering
    const limits = { requestsPerMinute: s.rpm, tokensPerMinute: s.tpm }
    const rpm = s.rpm === undefined ? undefined : new WindowReference(s.rpm)
    const tpm = s.tpm === undefined ? undefined : new WindowReference(s.tpm)
    const admitted: Array<{ readonly at: number; readonly tokens: number }> = []
    let n = 0

    const attempt = (tokens: number) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const got = yield* metering.reserve({ requestId: `r${n++}`, tenant: "t", model: "m", tokens, micros: 0, limits })
        const rpmWait = rpm?.wait(now, 1)
        const tpmWait = tpm?.wait(now, tokens)
        const expected =
          rpmWait !== undefined
            ? `RequestsPerMinute ${rpmWait ?? undefined}`
            : tpmWait !== undefined
              ? `TokensPerMinute ${tpmWait ?? undefined}`
              : "Admitted"
        assert.strictEqual(decisionOf(got), expected, `at ${now} for ${tokens} tokens`)
        if (got._tag === "Admitted") {
          rpm?.admit(now, 1)
          tpm?.admit(now, tokens)
          admitted.push({ at: now, tokens })
        }
        return got
      })

    for (const step of s.steps) {
      yield* TestClock.adjust(step.advance)
      const first = yield* attempt(step.tokens)
      if (!step.retry || first._tag === "Admitted" || first.retryAfterMs === undefined) continue
      // Retry-After is exact: a millisecond early is still refused, on time is not, for that reason.
      yield* TestClock.adjust(first.retryAfterMs - 1)
      assert.strictEqual(decisionOf(yield* attempt(step.tokens)), `${first.reason} 1`)
      yield* TestClock.adjust(1)
      const onTime = yield* attempt(step.tokens)
      if (first.reason === "TokensPerMinute" || s.tpm === undefined) assert.strictEqual(onTime._tag, "Admitted")
      else assert.notStrictEqual(decisionOf(onTime).split(" ")[0], first.reason)
    }

    // Whatever the decisions, no window [a, b] holds more than a bucket can give in it.
    for (const [i, from] of admitted.entries()) {
      let requests = 0
      let tokens = 0
      for (const to of admitted.slice(i)) {
        requests += 1
        tokens += to.tokens
        const span = to.at - from.at
        if (s.rpm !== undefined) assert.isAtMost(requests * 60_000, s.rpm * 60_000 + s.rpm * span)
        if (s.tpm !== undefined) assert.isAtMost(tokens * 60_000, s.tpm * 60_000 + s.tpm * span)
      }
    }
  }).pipe(Effect.provide(TestClock.layer()))

describe("metering rate limits, property-based", () => {
  it("admits what the window reference admits, with exact Retry-After, and never exceeds a window", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, (s) => Effect.runPromise(runScenario(s))),
      { numRuns: 400 }
    )
  })
})
