import { Clawfleet, Fleet, Reconciler, RuntimeCompiler, RuntimeProvider } from "@clawfleet/core"
import { MemoryProvider, MemoryWorld, testRuntime } from "@clawfleet/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, type Scope } from "effect"
import { TestClock } from "effect/testing"
import { Metrics } from "../../src/ops/Metrics.ts"
import { instrumentProvider, ProviderMetrics } from "../../src/ops/providerMetrics.ts"
import { feedReconciler } from "../../src/ops/reconcilerMetrics.ts"
import { sampleValue } from "./support/exposition.ts"

// The composition of core's Reconciler tests, with the provider timed and the metrics beside it.
const compiler = RuntimeCompiler.layerWith(({ access }) =>
  Effect.succeed({ models: access.models, mcp: access.tools, egress: access.egress })
)
const stack = Reconciler.layer.pipe(
  Layer.provideMerge(compiler),
  Layer.provideMerge(ProviderMetrics.pipe(Layer.provideMerge(MemoryProvider.layer()))),
  Layer.provideMerge(Clawfleet.layerMemory),
  Layer.provideMerge(Metrics.layer)
)
const run = <A, E>(self: Effect.Effect<A, E, Layer.Success<typeof stack> | Scope.Scope>) => Effect.provide(self, Layer.fresh(stack))

const ada = { id: "ada", email: "ada@example.com", displayName: "Ada" }
const grace = { id: "grace", email: "grace@example.com", displayName: "Grace" }

/** Events reach the feed on its own fiber: let it run until the scrape shows what is expected. */
const scraped = (check: (text: string) => boolean) =>
  Effect.gen(function* () {
    const metrics = yield* Metrics
    for (let i = 0; i < 100 && !check(metrics.render()); i++) yield* Effect.yieldNow
    return metrics.render()
  })

const passes = (text: string, outcome: string) => sampleValue(text, "clawfleet_reconcile_passes_total", { outcome }) ?? 0

describe("Metrics fed by the reconciler (MemoryProvider)", () => {
  it.effect("counts passes by outcome, failures by reason and changes, from the reconciler's events", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* Fleet
        const reconciler = yield* Reconciler
        const world = yield* MemoryWorld
        yield* feedReconciler
        yield* fleet.onboardPerson({ person: ada })
        yield* reconciler.reconcile("ada")
        world.failNext(1)
        yield* fleet.updateTenant("ada", { resources: { memory: "4Gi" } })
        yield* reconciler.reconcile("ada")
        yield* reconciler.reconcile("ada")
        yield* fleet.deleteTenant("ada")
        yield* reconciler.reconcile("ada")

        const text = yield* scraped((t) => passes(t, "Deleted") === 1)
        assert.strictEqual(passes(text, "Reconciled"), 2)
        assert.strictEqual(passes(text, "Failed"), 1)
        assert.strictEqual(passes(text, "Deleted"), 1)
        assert.strictEqual(sampleValue(text, "clawfleet_reconcile_failures_total", { reason: "ProviderUnavailable" }), 1)
        // The memory provider makes five resources for a new tenant, then changes one for the memory.
        assert.strictEqual(sampleValue(text, "clawfleet_reconcile_changes_total"), 6)
      })
    )
  )

  it.effect("reads the queue depth from pending() at scrape time", () =>
    run(
      Effect.gen(function* () {
        const reconciler = yield* Reconciler
        const metrics = yield* Metrics
        assert.isUndefined(sampleValue(metrics.render(), "clawfleet_reconciler_queue_depth"), "nothing to read before the feed")
        yield* Effect.scoped(
          Effect.gen(function* () {
            yield* feedReconciler
            assert.strictEqual(sampleValue(metrics.render(), "clawfleet_reconciler_queue_depth"), 0)
            // No workers run here: what is enqueued stays pending.
            yield* reconciler.enqueue("ada")
            yield* reconciler.enqueue("grace")
            yield* reconciler.enqueue("ada")
            assert.strictEqual(sampleValue(metrics.render(), "clawfleet_reconciler_queue_depth"), 2)
          })
        )
        assert.strictEqual(sampleValue(metrics.render(), "clawfleet_reconciler_queue_depth"), 0, "a stopped feed reads nothing stale")
      })
    )
  )

  it.effect("times every provider call of a pass, by operation and result", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* Fleet
        const reconciler = yield* Reconciler
        const world = yield* MemoryWorld
        const metrics = yield* Metrics
        yield* fleet.onboardPerson({ person: grace })
        world.failNext(1)
        yield* reconciler.reconcile("grace")
        yield* reconciler.reconcile("grace")
        const text = metrics.render()
        const count = (operation: string, result: string) =>
          sampleValue(text, "clawfleet_provider_call_duration_seconds_count", { provider: "memory", operation, result })
        assert.strictEqual(count("apply", "error"), 1)
        assert.strictEqual(count("apply", "ok"), 1)
        assert.strictEqual(count("observe", "ok"), 1)
      })
    )
  )

  it.effect("measures how long a provider call took on the Effect clock", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics
      const inner = yield* RuntimeProvider
      const slow = RuntimeProvider.of({
        ...inner,
        apply: (rt) => Effect.andThen(Effect.sleep("3 seconds"), inner.apply(rt))
      })
      const timed = instrumentProvider(slow, metrics.provider)
      const fiber = yield* Effect.forkChild(timed.apply(testRuntime("slow")))
      yield* TestClock.adjust("3 seconds")
      yield* Fiber.join(fiber)
      const text = metrics.render()
      const bucket = (le: string) =>
        sampleValue(text, "clawfleet_provider_call_duration_seconds_bucket", { operation: "apply", result: "ok", le })
      assert.strictEqual(bucket("2.5"), 0)
      assert.strictEqual(bucket("5"), 1)
      assert.strictEqual(sampleValue(text, "clawfleet_provider_call_duration_seconds_sum", { operation: "apply", result: "ok" }), 3)
    }).pipe(Effect.provide(Layer.merge(Metrics.layer, MemoryProvider.layer())))
  )
})
