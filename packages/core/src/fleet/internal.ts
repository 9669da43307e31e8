import { Effect, Schema } from "effect"
import type { Directory } from "../Directory.ts"
import { InvalidState, ValidationError } from "../Errors.ts"
import type { RecordStore } from "../store/RecordStore.ts"
import type { Tenants } from "../Tenants.ts"

/** What the Fleet's operation groups are built from. */
export interface FleetDeps {
  readonly store: RecordStore["Service"]
  readonly directory: Directory["Service"]
  readonly tenants: Tenants["Service"]
}

export const decode =
  <S extends Schema.Codec<any, any, never, never>>(schema: S, subject: string) =>
  (input: unknown): Effect.Effect<S["Type"], ValidationError> =>
    Schema.decodeUnknownEffect(schema)(input, { errors: "all", onExcessProperty: "error" }).pipe(
      Effect.mapError((e) => ValidationError.fromSchemaError(subject, e))
    )

export const invalid = (subject: string, path: string, message: string) => new ValidationError({ subject, issues: [{ path, message }] })

export const invalidState = (entity: string, id: string, detail: string) => new InvalidState({ entity, id, detail })

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/**
 * JSON merge patch (RFC 7396): objects merge key by key at every depth, `null` removes a key,
 * anything else (arrays included) replaces. So `{ budget: { monthlyUsd: 20 } }` keeps the
 * monthly token budget beside it.
 */
export const mergePatch = (target: unknown, patch: unknown): unknown => {
  if (!isPlainObject(patch)) return patch
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key]
    else if (value !== undefined) out[key] = mergePatch(out[key], value)
  }
  return out
}
