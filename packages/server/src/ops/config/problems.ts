import { Schema, SchemaIssue } from "effect"
import type { Problem } from "./sources.ts"

/**
 * A configuration the server cannot start with: every problem at once, each with the path of its
 * setting (and the variable or file it came from), so one restart fixes them all. Secret values
 * are never part of it.
 */
export class ServerConfigError extends Schema.TaggedError<ServerConfigError>()("ServerConfigError", {
  source: Schema.String,
  problems: Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String }))
}) {
  override get message() {
    const n = this.problems.length
    return `invalid server configuration (${this.source}), ${n} problem${n === 1 ? "" : "s"}:\n${this.problems
      .map((p) => `  ${p.path}: ${p.message}`)
      .join("\n")}`
  }
  get isRetryable(): boolean {
    return false
  }
}

/** `upstreams[0].baseUrl`, the way the file spells it. */
export const formatPath = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>) =>
  path
    .map((p) => (typeof p === "object" ? p.key : p))
    .reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out === "" ? String(key) : `${out}.${String(key)}`), "")

// The schema's own words for what the annotations do not cover.
const plain = (message: string) =>
  message === "Missing key" ? "is required" : message === "Expected no excess property" ? "is not a known setting" : message

/** The schema's issues as problems, in the file's order. */
export const schemaProblems = (error: Schema.SchemaError): ReadonlyArray<Problem> =>
  SchemaIssue.makeFormatterStandardSchemaV1()(error.issue).issues.map((i) => ({
    path: formatPath(i.path ?? []) || "(config)",
    message: plain(i.message)
  }))

/** Names where a setting came from when it was not the file: `listen.port (from CLAWFLEET_LISTEN_PORT)`. */
export const withOrigin = (problem: Problem, origins: ReadonlyMap<string, string>): Problem => {
  const origin = [...origins].find(([path]) => problem.path === path || problem.path.startsWith(`${path}.`))
  return origin === undefined ? problem : { ...problem, path: `${problem.path} (from ${origin[1]})` }
}

/**
 * Takes every secret value out of a message. The messages are written never to quote a value;
 * this is what keeps a future one from doing it. Secrets shorter than 8 characters are not
 * looked for: they would match ordinary words.
 */
export const redact = (text: string, secrets: ReadonlyArray<string>) =>
  secrets.filter((s) => s.length >= 8).reduce((out, s) => out.split(s).join("<redacted>"), text)
