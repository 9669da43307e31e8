import { Schema } from "effect"

/** The `scimType` values of RFC 7644 §3.12 that clawfleet answers with. */
export const ScimType = Schema.Literals([
  "invalidFilter",
  "invalidSyntax",
  "invalidPath",
  "invalidValue",
  "noTarget",
  "uniqueness",
  "mutability",
  "tooMany"
])
export type ScimType = typeof ScimType.Type

export const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"

/**
 * A refusal in SCIM's own words. Identity providers show `detail` to the administrator who set up
 * provisioning, so it names the SCIM attribute (`userName`, `members`), not clawfleet's field.
 */
export class ScimError extends Schema.TaggedError<ScimError>()("ScimError", {
  status: Schema.Int,
  scimType: Schema.optionalKey(ScimType),
  detail: Schema.String
}) {
  override get message() {
    return `SCIM ${this.status}${this.scimType === undefined ? "" : ` ${this.scimType}`}: ${this.detail}`
  }

  /** The body of the answer: RFC 7644 wants the status as a string. */
  get body() {
    return {
      schemas: [ERROR_SCHEMA],
      status: String(this.status),
      ...(this.scimType === undefined ? {} : { scimType: this.scimType }),
      detail: this.detail
    }
  }

  static of(status: number, detail: string, scimType?: ScimType) {
    return new ScimError(scimType === undefined ? { status, detail } : { status, detail, scimType })
  }
  static invalidValue(detail: string) {
    return ScimError.of(400, detail, "invalidValue")
  }
  static invalidSyntax(detail: string) {
    return ScimError.of(400, detail, "invalidSyntax")
  }
  static invalidPath(detail: string) {
    return ScimError.of(400, detail, "invalidPath")
  }
  static invalidFilter(detail: string) {
    return ScimError.of(400, detail, "invalidFilter")
  }
  static noTarget(detail: string) {
    return ScimError.of(400, detail, "noTarget")
  }
  static mutability(detail: string) {
    return ScimError.of(400, detail, "mutability")
  }
  static uniqueness(detail: string) {
    return ScimError.of(409, detail, "uniqueness")
  }
  static notFound(kind: "User" | "Group", id: string) {
    return ScimError.of(404, `${kind} ${JSON.stringify(id)} not found`)
  }
}

type Tagged = { readonly _tag: string; readonly message: string }

/**
 * The core's errors as SCIM answers. Anything the core refuses for the input is a 400 the
 * administrator can act on; a conflict with a concurrent writer or a store outage is worth a retry
 * (Okta and Entra ID retry 409 on their own only for uniqueness, so a race is a 503 instead).
 */
export const fromCore = (error: Tagged): ScimError => {
  if (error instanceof ScimError) return error
  switch (error._tag) {
    case "ValidationError":
      return ScimError.invalidValue(error.message)
    case "InvalidState":
      return ScimError.of(409, error.message)
    case "StoreError": {
      const reason = (error as unknown as { reason: Tagged }).reason
      if (reason._tag === "NotFound") return ScimError.of(404, reason.message)
      if (reason._tag === "AlreadyExists") return ScimError.uniqueness(reason.message)
      if (reason._tag === "Conflict" || reason._tag === "Unavailable") return ScimError.of(503, `try again: ${reason.message}`)
      return ScimError.of(500, reason.message)
    }
    default:
      return ScimError.of(500, error.message)
  }
}
