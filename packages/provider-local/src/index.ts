/**
 * The local runtime provider: every tenant's OpenClaw gateway as a supervised process on this
 * machine. Exports only its Layer and its configuration: everything it provides is
 * `RuntimeProvider` from `@clawfleet/core`.
 */
export {
  type GatewayCommand,
  type GatewayContext,
  type GatewayLaunch,
  LocalConfig,
  type LocalConfigInput,
  openclawCommand
} from "./LocalConfig.ts"
export { layer } from "./LocalProvider.ts"
