/**
 * The GKE runtime provider. Exports its Layer and configuration schema; test fakes for GCS and IAM
 * are at `@clawfleet/provider-gke/testing`.
 */
export { GkeConfig, type GkeConfigInput } from "./GkeConfig.ts"
export { type GkeLayerOptions, layer } from "./GkeProvider.ts"
export { bucketMember, bucketOf, namespaceOf, renderTenant } from "./render.ts"
