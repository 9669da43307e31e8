import { type ReconcileEvent, Reconciler } from "@clawfleet/core"
import { Effect, Layer, type Scope, Stream } from "effect"
import { Metrics } from "./Metrics.ts"
import type { ReconcilerInstruments } from "./metrics/instruments.ts"

/** Counts one reconciler event. */
export const recordReconcileEvent = (m: ReconcilerInstruments, e: ReconcileEvent): void => {
  switch (e.type) {
    case "Reconciled":
      m.passes.inc({ outcome: "Reconciled" })
      m.changes.inc({}, e.changes)
      return
    case "Failed":
      m.passes.inc({ outcome: "Failed" })
      m.failures.inc({ reason: e.reason })
      return
    case "Deleted":
    case "Busy":
      m.passes.inc({ outcome: e.type })
      return
    case "IdleSuspended":
      // Not an outcome: the same pass goes on and ends Reconciled.
      m.idleSuspensions.inc({})
      return
  }
}

/**
 * Feeds the reconciler's metrics until the scope closes: the queue depth is `pending()` read at
 * scrape time, passes and failures are counted from `events`. The events carry no start time or
 * duration, so how long a pass takes is measured around the provider's calls instead
 * (`ProviderMetrics`), which is where a pass spends its time.
 */
export const feedReconciler: Effect.Effect<void, never, Metrics | Reconciler | Scope.Scope> = Effect.gen(function* () {
  const { reconciler: m } = yield* Metrics
  const reconciler = yield* Reconciler
  m.queueDepth.collectWith({}, () => reconciler.pending())
  yield* Effect.addFinalizer(() => Effect.sync(() => m.queueDepth.set({}, 0)))
  // Started at once, so the subscription exists before this returns and no early event is missed.
  yield* Stream.runForEach(reconciler.events, (e) => Effect.sync(() => recordReconcileEvent(m, e))).pipe(
    Effect.forkScoped({ startImmediately: true })
  )
})

/** `feedReconciler` for the life of the layer. */
export const feedReconcilerLayer: Layer.Layer<never, never, Metrics | Reconciler> = Layer.effectDiscard(feedReconciler)
