import { Context, Layer } from "effect"
import {
  type ProviderInstruments,
  processInstruments,
  providerInstruments,
  type ReconcilerInstruments,
  reconcilerInstruments,
  type TokenProxyInstruments,
  tokenProxyInstruments
} from "./metrics/instruments.ts"
import { Registry } from "./metrics/Registry.ts"

/**
 * The server's Prometheus metrics: one registry per server, so two servers in one process (tests,
 * an embedding portal) never count into each other. The reconciler, the runtime provider and the
 * token proxy each have their instruments here, created up front so a scrape lists every metric
 * before its first observation; `feedReconciler`, `ProviderMetrics` and `instrumentTokenProxy`
 * connect them. Add a metric of your own through `registry`.
 */
export class Metrics extends Context.Service<
  Metrics,
  {
    readonly registry: Registry
    readonly reconciler: ReconcilerInstruments
    readonly provider: ProviderInstruments
    readonly tokenProxy: TokenProxyInstruments
    /** The text a scrape of `/metrics` gets. */
    readonly render: () => string
  }
>()("@clawfleet/server/Metrics") {
  static readonly layer: Layer.Layer<Metrics> = Layer.sync(Metrics, () => makeMetrics())
}

export const makeMetrics = (registry: Registry = new Registry()): Metrics["Service"] => {
  const reconciler = reconcilerInstruments(registry)
  const provider = providerInstruments(registry)
  const tokenProxy = tokenProxyInstruments(registry)
  processInstruments(registry)
  return { registry, reconciler, provider, tokenProxy, render: () => registry.render() }
}
