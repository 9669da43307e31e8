import { Schema, SchemaIssue } from "effect"

// ---- Store boundary -------------------------------------------------------------------------

export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  entity: Schema.String,
  id: Schema.String
}) {
  override get message() {
    return `${this.entity} "${this.id}" does not exist`
  }
}

/** A write carried a stale version: somebody else changed the record first. Re-read and retry. */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", {
  entity: Schema.String,
  id: Schema.String,
  expectedVersion: Schema.Int,
  actualVersion: Schema.Int,
  /** Which counter disagreed: the record's version, or (for tenants) the spec generation. */
  counter: Schema.optionalKey(Schema.Literals(["version", "generation"]))
}) {
  override get message() {
    return `${this.entity} "${this.id}" is at ${this.counter ?? "version"} ${this.actualVersion}, not ${this.expectedVersion}: it changed since it was read`
  }
}

export class AlreadyExists extends Schema.TaggedError<AlreadyExists>()("AlreadyExists", {
  entity: Schema.String,
  id: Schema.String
}) {
  override get message() {
    return `${this.entity} "${this.id}" already exists`
  }
}

/** The database could not be reached or refused for a passing reason (connection, serialization). */
export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", {
  detail: Schema.String,
  /** False when trying again cannot help (bad credentials, a missing permission). */
  retryable: Schema.Boolean,
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message() {
    return `store unavailable: ${this.detail}`
  }
}

/** A stored row no longer decodes: written by a newer version, or edited by hand. */
export class Corrupt extends Schema.TaggedError<Corrupt>()("Corrupt", {
  entity: Schema.String,
  id: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `${this.entity} "${this.id}" is stored in a shape this version cannot read: ${this.detail}`
  }
}

export const StoreErrorReason = Schema.Union([NotFound, Conflict, AlreadyExists, Unavailable, Corrupt])
export type StoreErrorReason = typeof StoreErrorReason.Type

/** The one error of the store boundary. Inspect `reason._tag`, or ask `isRetryable`. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  reason: StoreErrorReason
}) {
  override get message() {
    return this.reason.message
  }
  /** Conflicts are retryable after a re-read; an unavailable store may come back. */
  get isRetryable(): boolean {
    return this.reason._tag === "Conflict" || (this.reason._tag === "Unavailable" && this.reason.retryable)
  }
  static notFound(entity: string, id: string) {
    return new StoreError({ reason: new NotFound({ entity, id }) })
  }
  static conflict(entity: string, id: string, expectedVersion: number, actualVersion: number, counter?: "generation") {
    return new StoreError({
      reason: new Conflict({ entity, id, expectedVersion, actualVersion, ...(counter ? { counter } : {}) })
    })
  }
  static alreadyExists(entity: string, id: string) {
    return new StoreError({ reason: new AlreadyExists({ entity, id }) })
  }
  static unavailable(detail: string, retryable: boolean, cause?: unknown) {
    return new StoreError({
      reason: new Unavailable(cause === undefined ? { detail, retryable } : { detail, retryable, cause })
    })
  }
}

export const isStoreError = Schema.is(StoreError)

// ---- Use-case boundary ---------------------------------------------------------------------

/**
 * The request is well formed but the target's state forbids it now (a tenant being deleted, an
 * owner who is disabled). Nothing was written; it may succeed once the state changes.
 */
export class InvalidState extends Schema.TaggedError<InvalidState>()("InvalidState", {
  entity: Schema.String,
  id: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `${this.entity} "${this.id}" ${this.detail}`
  }
  get isRetryable(): boolean {
    return false
  }
}

// ---- Input boundary -------------------------------------------------------------------------

export const FieldIssue = Schema.Struct({ path: Schema.String, message: Schema.String })
export type FieldIssue = typeof FieldIssue.Type

/** Input that does not fit the domain. Every issue names the field it is about. */
export class ValidationError extends Schema.TaggedError<ValidationError>()("ValidationError", {
  subject: Schema.String,
  issues: Schema.Array(FieldIssue)
}) {
  override get message() {
    return `invalid ${this.subject}: ${this.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ")}`
  }
  get isRetryable(): boolean {
    return false
  }
  static fromSchemaError(subject: string, error: Schema.SchemaError): ValidationError {
    const issues = SchemaIssue.makeFormatterStandardSchemaV1()(error.issue).issues.map((i) => ({
      path: (i.path ?? []).map((p) => (typeof p === "object" ? String(p.key) : String(p))).join("."),
      message: i.message
    }))
    return new ValidationError({ subject, issues })
  }
}
