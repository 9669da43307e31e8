/**
 * What it takes to run the reference server in production: metrics, configuration, and the
 * Kubernetes objects that install it.
 */
export { type InstallOptions, InstallOptionsError, installManifests, printManifests } from "./installManifests.ts"
export { Metrics, makeMetrics } from "./Metrics.ts"
export { CONTENT_TYPE as METRICS_CONTENT_TYPE } from "./metrics/exposition.ts"
export type { PassOutcome, ProviderInstruments, ReconcilerInstruments, TokenProxyInstruments } from "./metrics/instruments.ts"
export { type Counter, DEFAULT_BUCKETS, type Gauge, type Histogram, type LabelValues, Registry } from "./metrics/Registry.ts"
export { METRICS_PATH, metricsHandler } from "./metricsHandler.ts"
export { instrumentProvider, ProviderMetrics } from "./providerMetrics.ts"
export { feedReconciler, feedReconcilerLayer, recordReconcileEvent } from "./reconcilerMetrics.ts"
export {
  type ConfigSources,
  DEFAULT_DATA_DIR,
  isOrgAdmin,
  loadServerConfig,
  ServerConfig,
  ServerConfigError,
  type ServerConfigInput,
  type ServerConfigShape,
  type ServerUpstream
} from "./ServerConfig.ts"
export { CLIENT_CLOSED, instrumentMetering, instrumentTokenProxy, MeteringMetrics } from "./tokenProxyMetrics.ts"
