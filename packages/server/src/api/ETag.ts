import { Effect, Schema } from "effect"
import { PreconditionFailed, PreconditionRequired } from "./Problems.ts"

/**
 * Optimistic concurrency over HTTP: a single record's `ETag` is its store version, and a change
 * must send it back in `If-Match`. Missing: 428, so a client cannot skip the check by accident.
 * Stale: 412, and the caller re-reads. The version moves on every write, status included, so the
 * ETag changes whenever the representation does, as a strong validator must.
 */

export const etagOf = (version: number) => `"${version}"`

/** Response header of operations that return one record. */
export const etagHeader = { etag: Schema.String }

/** Request header of operations that change one record. */
export const ifMatchHeader = { "if-match": Schema.optionalKey(Schema.String.check(Schema.isMaxLength(1024))) }

/** Strong comparison (RFC 9110): `*`, or one of a list of entity tags; weak tags never match. */
const matches = (header: string, version: number) =>
  header.trim() === "*" || header.split(",").some((tag) => tag.trim() === etagOf(version))

/** Fails unless `If-Match` was sent; call before anything is read. */
export const requireIfMatch = (header: string | undefined): Effect.Effect<string, PreconditionRequired> =>
  header === undefined || header.trim() === ""
    ? Effect.fail(new PreconditionRequired({ detail: "send If-Match with the ETag of the record you read (GET it first)" }))
    : Effect.succeed(header)

/** Fails with 412 unless the current version is the one `If-Match` names. */
export const checkIfMatch = (header: string, version: number): Effect.Effect<void, PreconditionFailed> =>
  matches(header, version)
    ? Effect.void
    : Effect.fail(
        new PreconditionFailed({
          detail: `the record is at ETag ${etagOf(version)}, not ${header.trim()}: re-read it and apply your change again`
        })
      )
