import type { InvalidState, StoreError, ValidationError } from "@clawfleet/core"
import { Effect, Schema, SchemaIssue } from "effect"
import { HttpApiError } from "effect/http-api"

/**
 * Every error of the REST API is one RFC 9457 problem shape:
 * `{ type, title, status, detail, errors?: [{ path, message }] }`, sent as
 * `application/problem+json`. One class per status, so the OpenAPI document and the typed client
 * know each answer; `detail` always says what went wrong in words a caller can act on, and
 * `errors` names the fields of an invalid request.
 */

export const ProblemIssue = Schema.Struct({
  /** Where in the request: `body.person.email`, `query.limit`, `header.if-match`, or a domain field. */
  path: Schema.String,
  message: Schema.String
})
export type ProblemIssue = typeof ProblemIssue.Type

const fields = { detail: Schema.String, errors: Schema.optionalKey(Schema.Array(ProblemIssue)) }

export class InvalidRequest extends HttpApiError.Problem<InvalidRequest>()(
  "InvalidRequest",
  { type: "urn:clawfleet:problem:invalid-request", status: 400, title: "The request is not valid" },
  fields
) {}

export class Unauthenticated extends HttpApiError.Problem<Unauthenticated>()(
  "Unauthenticated",
  { type: "urn:clawfleet:problem:unauthenticated", status: 401, title: "Sign in or send an API token" },
  fields
) {}

export class Forbidden extends HttpApiError.Problem<Forbidden>()(
  "Forbidden",
  { type: "urn:clawfleet:problem:forbidden", status: 403, title: "Not allowed" },
  fields
) {}

export class NotFound extends HttpApiError.Problem<NotFound>()(
  "NotFound",
  { type: "urn:clawfleet:problem:not-found", status: 404, title: "No such resource" },
  fields
) {}

/** Already exists, or the target's state forbids the change now (a disabled owner, a deleting tenant). */
export class Conflict extends HttpApiError.Problem<Conflict>()(
  "Conflict",
  { type: "urn:clawfleet:problem:conflict", status: 409, title: "Conflicts with the current state" },
  fields
) {}

export class PreconditionFailed extends HttpApiError.Problem<PreconditionFailed>()(
  "PreconditionFailed",
  { type: "urn:clawfleet:problem:precondition-failed", status: 412, title: "The resource changed since it was read" },
  fields
) {}

export class IdempotencyKeyReused extends HttpApiError.Problem<IdempotencyKeyReused>()(
  "IdempotencyKeyReused",
  { type: "urn:clawfleet:problem:idempotency-key-reused", status: 422, title: "The Idempotency-Key was used for another request" },
  fields
) {}

export class PreconditionRequired extends HttpApiError.Problem<PreconditionRequired>()(
  "PreconditionRequired",
  { type: "urn:clawfleet:problem:precondition-required", status: 428, title: "Send If-Match with the ETag you read" },
  fields
) {}

/** The store cannot be reached; the response carries `Retry-After`. */
export class Unavailable extends HttpApiError.Problem<Unavailable>()(
  "Unavailable",
  { type: "urn:clawfleet:problem:unavailable", status: 503, title: "Temporarily unavailable" },
  fields
) {}

/** What most operations may answer besides success; authentication adds 401. */
export const commonProblems = [InvalidRequest, Forbidden, NotFound, Conflict, Unavailable] as const
export type CommonProblem = InvalidRequest | Forbidden | NotFound | Conflict | Unavailable

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 1

// A 503 that should be retried later than the default (a tenant still starting), by instance.
const retryAfters = new WeakMap<Unavailable, number>()

/** A 503 whose `Retry-After` is `seconds` rather than `RETRY_AFTER_SECONDS`. */
export const unavailableFor = (detail: string, seconds: number): Unavailable => {
  const problem = new Unavailable({ detail })
  retryAfters.set(problem, seconds)
  return problem
}

/** The `Retry-After` seconds of a 503. */
export const retryAfterOf = (problem: Unavailable): number => retryAfters.get(problem) ?? RETRY_AFTER_SECONDS

/**
 * Maps the core's errors onto problems. A version conflict is 412 when the caller sent If-Match
 * (their precondition failed) and 409 otherwise (somebody else's write won the race). A corrupt
 * row is a defect: the caller can do nothing about it, and it is reported as a 500.
 */
export const fromCore = <E extends ValidationError | StoreError | InvalidState>(
  error: E,
  options?: { readonly ifMatch?: boolean }
): Effect.Effect<never, CommonProblem | PreconditionFailed> => {
  switch (error._tag) {
    case "ValidationError":
      return Effect.fail(new InvalidRequest({ detail: error.message, errors: error.issues }))
    case "InvalidState":
      return Effect.fail(new Conflict({ detail: error.message }))
    case "StoreError": {
      const reason = error.reason
      switch (reason._tag) {
        case "NotFound":
          return Effect.fail(new NotFound({ detail: reason.message }))
        case "AlreadyExists":
          return Effect.fail(new Conflict({ detail: reason.message }))
        case "Conflict":
          return Effect.fail(
            options?.ifMatch ? new PreconditionFailed({ detail: reason.message }) : new Conflict({ detail: `${reason.message}; try again` })
          )
        case "Unavailable":
          return Effect.fail(new Unavailable({ detail: "the store cannot be reached right now; try again shortly" }))
        case "Corrupt":
          return Effect.die(error)
      }
    }
  }
}

/** A store failure where nothing else can go wrong (a lookup): 503, or a defect for a corrupt row. */
export const storeUnavailable = (error: StoreError): Effect.Effect<never, Unavailable> =>
  error.reason._tag === "Corrupt"
    ? Effect.die(error)
    : Effect.fail(new Unavailable({ detail: "the store cannot be reached right now; try again shortly" }))

type CoreError = ValidationError | StoreError | InvalidState

const isCoreError = (e: unknown): e is CoreError =>
  typeof e === "object" &&
  e !== null &&
  "_tag" in e &&
  (e._tag === "ValidationError" || e._tag === "StoreError" || e._tag === "InvalidState")

/** Core failures become problems; everything else passes through. */
export const orProblem = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, CoreError> | CommonProblem, R> =>
  Effect.catch(self, (e): Effect.Effect<never, unknown> => (isCoreError(e) ? fromCore(e) : Effect.fail(e))) as Effect.Effect<
    A,
    Exclude<E, CoreError> | CommonProblem,
    R
  >

/** The same for a change guarded by If-Match: a version conflict is the caller's failed precondition. */
export const orPreconditionProblem = <A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, Exclude<E, CoreError> | CommonProblem | PreconditionFailed, R> =>
  Effect.catch(
    self,
    (e): Effect.Effect<never, unknown> => (isCoreError(e) ? fromCore(e, { ifMatch: true }) : Effect.fail(e))
  ) as Effect.Effect<A, Exclude<E, CoreError> | CommonProblem | PreconditionFailed, R>

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()
const slotNames: Record<HttpApiError.HttpApiSchemaError["kind"], string> = {
  Params: "path",
  Headers: "header",
  Query: "query",
  Payload: "body",
  Body: "response",
  ResponseHeaders: "response"
}

/** A request that failed its schema: one issue per offending value, its path prefixed by where it was. */
export const fromSchemaError = (error: HttpApiError.HttpApiSchemaError): InvalidRequest => {
  const slot = slotNames[error.kind]
  const errors = formatIssues(error.cause.issue).issues.map((issue) => ({
    path: [slot, ...(issue.path ?? []).map((p) => String(typeof p === "object" && p !== null ? p.key : p))].join("."),
    message: issue.message
  }))
  const where = errors.length === 0 ? slot : errors.map((e) => `${e.path}: ${e.message}`).join("; ")
  return new InvalidRequest({ detail: `invalid request ${where}`.slice(0, 2000), errors })
}
