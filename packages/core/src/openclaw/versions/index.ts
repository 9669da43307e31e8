import type { JsonSchema } from "../JsonSchema.ts"
import { schema as v2026_9_6 } from "./2026_9_6.ts"

/**
 * The OpenClaw versions clawfleet can render a config for, each with the snapshot of its schema
 * for the keys clawfleet emits. Supporting a new version means adding its snapshot here after the
 * integration test passed against it: OpenClaw refuses unknown keys, so guessing is not an option.
 */
export const openClawSchemas: ReadonlyMap<string, JsonSchema> = new Map([["2026.9.6", v2026_9_6]])

export const supportedOpenClawVersions: ReadonlyArray<string> = [...openClawSchemas.keys()]
