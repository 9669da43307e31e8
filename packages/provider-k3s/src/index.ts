/**
 * The K3s runtime provider. Exports its Layer, its configuration schema and the kinds it manages (for RBAC): everything it
 * provides is `RuntimeProvider` from `@clawfleet/core`.
 */
export { K3sConfig, type K3sConfigInput } from "./K3sConfig.ts"
export { layer, MANAGED_KINDS, namespaceOf } from "./K3sProvider.ts"
export { renderTenant } from "./render.ts"
