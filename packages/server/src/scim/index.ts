/** SCIM 2.0 provisioning: the node:http handler, and the operations behind it for other transports. */
export { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, MAX_RESULTS as SCIM_MAX_RESULTS, USER_SCHEMA } from "./discovery.ts"
export { defaultTeamOfGroup, groupId, groupName } from "./groups.ts"
export type { ListQuery as ScimListQuery, ScimResource } from "./internal.ts"
export { makeScim, Scim, type ScimOptions, type ScimServices } from "./Scim.ts"
export { ScimError, ScimType } from "./ScimError.ts"
export { makeScimHandler, SCIM_PREFIX, SCIM_SCOPE, type ScimHandlerOptions } from "./ScimHttp.ts"
