import { intentDiff, makeRateLimiter } from "@clawfleet/core/kubernetes"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"

describe("intentDiff", () => {
  const intent = { metadata: { name: "p", labels: { a: "1" } }, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } }

  it("ignores what the server and other controllers add", () => {
    const live = {
      metadata: { name: "p", labels: { a: "1", "other.io/x": "y" }, resourceVersion: "9", managedFields: [] },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
      status: {}
    }
    expect(intentDiff(live, intent)).toStrictEqual([])
  })

  it("names every field that no longer says what we asked for", () => {
    const live = { metadata: { name: "p", labels: { a: "2" } }, spec: { podSelector: { x: 1 }, policyTypes: ["Ingress"] } }
    expect(intentDiff(live, intent)).toStrictEqual(['metadata.labels.a: "2" -> "1"', "spec.policyTypes: 1 items -> 2 items"])
    expect(intentDiff({ metadata: { name: "p" } }, intent)).toStrictEqual([
      'metadata.labels: (absent) -> {"a":"1"}',
      'spec: (absent) -> {"podSelector":{},"policyTypes":["Ingress","Egress"]}'
    ])
  })
})

describe("makeRateLimiter", () => {
  it.effect("lets a burst through at once, then paces requests at the rate", () =>
    Effect.gen(function* () {
      const limit = makeRateLimiter(10, 3)
      const done: Array<number> = []
      const fiber = yield* Effect.forkChild(
        Effect.forEach(
          [1, 2, 3, 4, 5],
          (i) =>
            Effect.andThen(
              limit,
              Effect.sync(() => done.push(i))
            ),
          { discard: true }
        )
      )
      yield* TestClock.adjust("1 millis")
      expect(done).toStrictEqual([1, 2, 3])
      yield* TestClock.adjust("100 millis")
      expect(done).toStrictEqual([1, 2, 3, 4])
      yield* TestClock.adjust("100 millis")
      expect(done).toStrictEqual([1, 2, 3, 4, 5])
      yield* Fiber.join(fiber)
    })
  )
})
