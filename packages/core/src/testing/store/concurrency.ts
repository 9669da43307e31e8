import { assert, type Vitest } from "@effect/vitest"
import { Effect, Exit, Schedule } from "effect"
import { Audit } from "../../Audit.ts"
import { Directory } from "../../Directory.ts"
import type * as Store from "../../Store.ts"
import { RecordStore } from "../../store/RecordStore.ts"
import type { StoreConformanceOptions } from "../StoreConformance.ts"
import { dept, reasonOf } from "./support.ts"

/** Concurrency: racing updates, many writers on one record, and claims held by one at a time. */
export const concurrencyScenarios = (
  it: Vitest.MethodsNonLive<Store.Services>,
  options: Pick<StoreConformanceOptions<never>, "writers" | "optimisticWriters">
) => {
  it.effect("of two concurrent conflicting updates exactly one wins", () =>
    Effect.gen(function* () {
      const { departments } = yield* Directory
      yield* departments.create(dept("race", "start"))
      const { version } = yield* departments.get("race")
      const exits = yield* Effect.forEach(["left", "right"], (who) => Effect.exit(departments.update(dept("race", who), version)), {
        concurrency: "unbounded"
      })
      const outcomes = exits.map(reasonOf).sort()
      assert.deepStrictEqual(outcomes, ["Conflict", "Success"])
      const winner = exits[0] !== undefined && Exit.isSuccess(exits[0]) ? "left" : "right"
      assert.strictEqual((yield* departments.get("race")).value.displayName, winner)
    })
  )

  it.effect("concurrent writers modifying one record lose no update", () =>
    Effect.gen(function* () {
      const writers = options.writers ?? 1000
      const { departments } = yield* Directory
      yield* departments.create(dept("counter", "0"))
      const increment = departments.modify("counter", (d) => dept("counter", String(Number(d.displayName) + 1)))
      yield* Effect.forEach(Array.from({ length: writers }), () => increment, { concurrency: "unbounded", discard: true })
      const final = yield* departments.get("counter")
      assert.strictEqual(final.value.displayName, String(writers))
      assert.strictEqual(final.version, writers + 1)
      assert.isTrue((yield* (yield* Audit).verifyAuditChain).ok)
    })
  )

  // Optimistic writers re-read and retry on Conflict, backing off with jitter as any client of
  // an optimistic store should. Contention makes this quadratic, hence fewer writers.
  it.effect("optimistic writers retrying on Conflict lose no update", () =>
    Effect.gen(function* () {
      const writers = options.optimisticWriters ?? 100
      const { departments } = yield* Directory
      yield* departments.create(dept("optimistic", "0"))
      const increment = Effect.gen(function* () {
        const cur = yield* departments.get("optimistic")
        yield* departments.update(dept("optimistic", String(Number(cur.value.displayName) + 1)), cur.version)
      }).pipe(
        Effect.retry(($) =>
          $(Schedule.min([Schedule.exponential("1 millis"), Schedule.spaced("50 millis")])).pipe(
            Schedule.jittered,
            Schedule.while(({ input }) => input.reason._tag === "Conflict")
          )
        )
      )
      yield* Effect.forEach(Array.from({ length: writers }), () => increment, { concurrency: "unbounded", discard: true })
      const final = yield* departments.get("optimistic")
      assert.strictEqual(final.value.displayName, String(writers))
      assert.strictEqual(final.version, writers + 1)
    })
  )

  it.effect("gives a claim to one holder at a time until it expires or is released", () =>
    Effect.gen(function* () {
      const store = yield* RecordStore
      const racers = yield* Effect.forEach(["r1", "r2", "r3", "r4"], (h) => store.claim("tenant:claimed", h, 60_000), {
        concurrency: "unbounded"
      })
      assert.strictEqual(racers.filter(Boolean).length, 1, "exactly one racer wins")
      const winner = ["r1", "r2", "r3", "r4"][racers.indexOf(true)]!
      assert.isTrue(yield* store.claim("tenant:claimed", winner, 60_000), "the holder may renew")
      yield* store.release("tenant:claimed", "someone-else")
      assert.isFalse(yield* store.claim("tenant:claimed", "late", 60_000), "a stranger's release does nothing")
      yield* store.release("tenant:claimed", winner)
      assert.isTrue(yield* store.claim("tenant:claimed", "late", 50))
      yield* Effect.sleep("120 millis")
      assert.isTrue(yield* store.claim("tenant:claimed", "after-expiry", 60_000), "an expired claim passes on")
    })
  )
}
