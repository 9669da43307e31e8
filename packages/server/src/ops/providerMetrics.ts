import { RuntimeProvider } from "@clawfleet/core"
import { Clock, Effect, Exit, Layer } from "effect"
import { Metrics } from "./Metrics.ts"
import type { ProviderInstruments } from "./metrics/instruments.ts"

/**
 * A provider whose every call is timed into `clawfleet_provider_call_duration_seconds`, by
 * operation and result. Time comes from the Effect `Clock`, so tests with a test clock see the
 * durations they made.
 */
export const instrumentProvider = (p: RuntimeProvider["Service"], m: ProviderInstruments): RuntimeProvider["Service"] => {
  const provider = p.describe.name
  const timed =
    (operation: string) =>
    <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.flatMap(Clock.currentTimeNanos, (start) =>
        Effect.onExit(self, (exit) =>
          Effect.map(Clock.currentTimeNanos, (end) =>
            m.calls.observe({ provider, operation, result: Exit.isSuccess(exit) ? "ok" : "error" }, Number(end - start) / 1e9)
          )
        )
      )
  return RuntimeProvider.of({
    describe: p.describe,
    plan: (runtime) => timed("plan")(p.plan(runtime)),
    apply: (runtime) => timed("apply")(p.apply(runtime)),
    observe: (tenant) => timed("observe")(p.observe(tenant)),
    suspend: (runtime) => timed("suspend")(p.suspend(runtime)),
    resume: (runtime) => timed("resume")(p.resume(runtime)),
    destroy: (tenant, options) => timed("destroy")(p.destroy(tenant, options))
  })
}

/**
 * Replaces the `RuntimeProvider` below it with one that is timed:
 * `Reconciler.layer.pipe(Layer.provide(ProviderMetrics.pipe(Layer.provide(K3s.layer(...)))))`.
 */
export const ProviderMetrics: Layer.Layer<RuntimeProvider, never, RuntimeProvider | Metrics> = Layer.effect(
  RuntimeProvider,
  Effect.gen(function* () {
    const provider = yield* RuntimeProvider
    const metrics = yield* Metrics
    return instrumentProvider(provider, metrics.provider)
  })
)
