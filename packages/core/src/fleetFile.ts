/**
 * `@clawfleet/core/fleet-file`: the declarative fleet file (people, teams, departments, their
 * assistants and grants, in YAML), parsed with `file:line` errors, planned purely against a
 * snapshot, and applied with `Fleet` (no server needed). The `clawfleet plan|apply -f` command
 * of the server plans with the same code over the REST API.
 */
export { type ApplyResult, applyFleetFile, applyFleetPlan, readFleetState } from "./fleetFile/Apply.ts"
export {
  type Change,
  type FieldChange,
  type FleetState,
  type GrantWanted,
  type PersonPatch,
  type Plan,
  phaseOf,
  phases,
  type TenantPatch
} from "./fleetFile/Change.ts"
export { fleetFileJsonSchema } from "./fleetFile/JsonSchema.ts"
export { type FleetFile, FleetFileError, fromSpec, parseFleetFile } from "./fleetFile/Parse.ts"
export { type PlanOptions, planFleetFile } from "./fleetFile/Plan.ts"
export { planJson, renderChange, renderPlan, summarize } from "./fleetFile/Render.ts"
export {
  FleetDepartment,
  FleetGrant,
  FleetPerson,
  FleetSpec,
  FleetTeam,
  grantKey,
  TenantSettings,
  tenantNameOf,
  tenantSettingsOf
} from "./fleetFile/Spec.ts"
