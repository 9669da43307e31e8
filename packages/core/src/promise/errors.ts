import { PairingError } from "../agent/PairingLinks.ts"
import { type AlreadyExists, type Conflict, InvalidState, type NotFound, StoreError, ValidationError } from "../Errors.ts"

export { PairingError, type PairingErrorReason } from "../agent/PairingLinks.ts"
export { type FieldIssue, InvalidState, StoreError, type StoreErrorReason, ValidationError } from "../Errors.ts"

/**
 * Every way a facade call fails on purpose. Each is an `Error` whose `message` names the problem,
 * with a `_tag` and `isRetryable`. Anything else a call rejects with is a bug, thrown as is.
 */
export type ClawfleetError = StoreError | ValidationError | InvalidState | PairingError

/** A `StoreError` whose `reason` is the given kind, so `error.reason.id` and friends type-check. */
export type StoreErrorOf<R extends StoreError["reason"]> = StoreError & { readonly reason: R }

export const isClawfleetError = (error: unknown): error is ClawfleetError =>
  error instanceof StoreError || error instanceof ValidationError || error instanceof InvalidState || error instanceof PairingError

/** Input that does not fit: `issues` names every field at fault. Answer it as a bad request. */
export const isValidationError = (error: unknown): error is ValidationError => error instanceof ValidationError

/** Well formed, but the target's current state forbids it (a tenant being deleted, an ambiguous e-mail). */
export const isInvalidState = (error: unknown): error is InvalidState => error instanceof InvalidState

/** No pairing link: `reason` says why (`Forbidden`, `Disabled`, `NotReady`, `NoEndpoint`, `Deleting`). */
export const isPairingError = (error: unknown): error is PairingError => error instanceof PairingError

/** Any failure of the store; `reason._tag` says which, `isRetryable` whether to try again. */
export const isStoreError = (error: unknown): error is StoreError => error instanceof StoreError

/** The person, tenant or other record asked for does not exist. */
export const isNotFound = (error: unknown): error is StoreErrorOf<NotFound> => isStoreError(error) && error.reason._tag === "NotFound"

/** A create whose id is taken (two requests raced, or the id belongs to someone else). */
export const isAlreadyExists = (error: unknown): error is StoreErrorOf<AlreadyExists> =>
  isStoreError(error) && error.reason._tag === "AlreadyExists"

/** A write carried a stale version: somebody changed the record first. Re-read and retry. */
export const isConflict = (error: unknown): error is StoreErrorOf<Conflict> => isStoreError(error) && error.reason._tag === "Conflict"
