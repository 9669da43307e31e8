import { RuntimeProvider } from "@clawfleet/core"
import { MemoryProvider, MemoryWorld, providerConformance, testRuntime } from "@clawfleet/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

providerConformance("memory", MemoryProvider.layer(), {
  drift: (tenant) => MemoryWorld.use((world) => Effect.sync(() => world.drop(tenant, "process", `gateway-${tenant}`)))
})

describe("memory provider faults", () => {
  it.effect("fails the calls it is told to, with a retryable ProviderError, and then recovers", () =>
    Effect.gen(function* () {
      const provider = yield* RuntimeProvider
      const world = yield* MemoryWorld
      world.failNext(1)
      const err = yield* Effect.flip(provider.apply(testRuntime("faulty")))
      assert.strictEqual(err.reason, "Unavailable")
      assert.isTrue(err.isRetryable)
      yield* provider.apply(testRuntime("faulty"))
      assert.isTrue((yield* provider.observe("faulty")).workload.ready)
    }).pipe(Effect.provide(MemoryProvider.layer()))
  )

  it.effect("repairs a resource altered behind its back", () =>
    Effect.gen(function* () {
      const provider = yield* RuntimeProvider
      const world = yield* MemoryWorld
      yield* provider.apply(testRuntime("altered"))
      world.alter("altered", "egress-policy", "egress-altered", { allow: [{ pattern: "*", except: [] }] })
      const plan = yield* provider.plan(testRuntime("altered"))
      const update = plan.changes.find((c) => c.action === "update")
      assert.strictEqual(update?.kind, "egress-policy")
      assert.match(update?.diff.join("\n") ?? "", /spec\.allow: .*\*.* -> \[\]/)
      yield* provider.apply(testRuntime("altered"))
      const policy = world.resources("altered").find((r) => r.kind === "egress-policy")
      assert.deepStrictEqual(policy?.spec, { allow: [] })
    }).pipe(Effect.provide(MemoryProvider.layer()))
  )
})
