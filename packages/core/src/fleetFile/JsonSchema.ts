import { JsonSchema, Schema } from "effect"
import { FleetSpec } from "./Spec.ts"

/**
 * The JSON Schema (draft 2020-12) of a fleet file, generated from `FleetSpec`, for editors:
 * point YAML files at it (`# yaml-language-server: $schema=./fleet.schema.json`) for completion
 * and help on every field. The decoder stays the authority: cross-references (a team's
 * department, a person's team) are checked by the planner, not the schema.
 */
export const fleetFileJsonSchema = (): Record<string, unknown> => {
  const document = Schema.toJsonSchemaDocument(FleetSpec, { onExcessProperty: "error" })
  return {
    $schema: JsonSchema.META_SCHEMA_URI_DRAFT_2020_12,
    ...document.schema,
    ...(Object.keys(document.definitions).length > 0 ? { $defs: document.definitions } : {})
  }
}
