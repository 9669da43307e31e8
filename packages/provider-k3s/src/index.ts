/**
 * The K3s runtime provider. Exports only its Layer and its configuration schema: everything it
 * provides is `RuntimeProvider` from `@clawfleet/core`.
 */
export { K3sConfig, type K3sConfigInput } from "./K3sConfig.ts"
export { layer, namespaceOf } from "./K3sProvider.ts"
export { renderTenant } from "./render.ts"
