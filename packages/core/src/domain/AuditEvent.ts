import { Schema } from "effect"

export const AuditTarget = Schema.Struct({ kind: Schema.String, id: Schema.String })

/** One entry of the append-only, hash-chained audit log. */
export class AuditEvent extends Schema.Class<AuditEvent>("@clawfleet/core/AuditEvent")({
  seq: Schema.Int,
  at: Schema.DateTimeUtcFromString,
  actor: Schema.String,
  action: Schema.String,
  target: AuditTarget,
  before: Schema.optionalKey(Schema.Unknown),
  after: Schema.optionalKey(Schema.Unknown),
  requestId: Schema.optionalKey(Schema.String),
  decision: Schema.optionalKey(Schema.String),
  /** Hash of the previous event (64 zeros for the first), then this event's own hash. */
  prevHash: Schema.String,
  hash: Schema.String
}) {}
