import { Effect, Option } from "effect"
import { type ClawfleetClient, makeClient } from "../api/client.ts"
import { loadCredentials } from "./Credentials.ts"
import { CliFailure, UsageError } from "./Errors.ts"

/** A server the CLI talks to, and the typed client of its API. */
export interface Remote {
  readonly server: string
  readonly client: ClawfleetClient
}

/** Flag, then environment (both via the global flags), then `clawfleet login`'s saved credentials. */
export const connect = (flags: {
  readonly server: Option.Option<string>
  readonly token: Option.Option<string>
}): Effect.Effect<Remote, CliFailure | UsageError> =>
  Effect.gen(function* () {
    const saved = Option.isSome(flags.server) && Option.isSome(flags.token) ? Option.none() : yield* loadCredentials
    const server = Option.getOrUndefined(Option.orElse(flags.server, () => Option.map(saved, (s) => s.server)))
    const token = Option.getOrUndefined(Option.orElse(flags.token, () => Option.map(saved, (s) => s.token)))
    if (server === undefined) {
      return yield* new UsageError({ message: "no server: pass --server URL, set CLAWFLEET_SERVER, or run clawfleet login" })
    }
    if (token === undefined) {
      return yield* new UsageError({ message: "no API token: pass --token cft_…, set CLAWFLEET_TOKEN, or run clawfleet login" })
    }
    const base = yield* normalizeServer(server)
    return { server: base, client: yield* makeClient(base, { apiToken: token }) }
  })

/** `https://host/` → `https://host`; anything that is not an http(s) URL is a usage error. */
export const normalizeServer = (server: string): Effect.Effect<string, UsageError> => {
  let url: URL
  try {
    url = new URL(server)
  } catch {
    return Effect.fail(new UsageError({ message: `--server ${server} is not a URL such as https://clawfleet.example.com` }))
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Effect.fail(new UsageError({ message: `--server ${server} must be an http or https URL` }))
  }
  return Effect.succeed(url.href.replace(/\/+$/, ""))
}

const record = (e: unknown): Record<string, unknown> => (typeof e === "object" && e !== null ? (e as Record<string, unknown>) : {})

/** Whether a failed call may succeed when tried again: the network, or a 503. */
export const isTransient = (e: unknown): boolean => {
  const tag = record(e)._tag
  return (tag === "HttpClientError" && record(record(e).reason)._tag === "TransportError") || tag === "Unavailable"
}

/** One sentence (and the fields at fault) for any error of the typed client. */
export const describe = (server: string, e: unknown): string => {
  const error = record(e)
  const tag = typeof error._tag === "string" ? error._tag : undefined
  if (tag === "HttpClientError") {
    const reason = record(error.reason)
    if (reason._tag === "TransportError") {
      const cause = record(reason.cause)
      const detail = record(cause.cause).code ?? cause.message ?? reason.description
      return `cannot reach the clawfleet server at ${server}${detail !== undefined ? ` (${String(detail)})` : ""}; check --server and that it is running`
    }
    return `unexpected answer from ${server}: ${String(error.message ?? reason._tag)}`
  }
  if (typeof error.detail === "string") {
    const issues = Array.isArray(error.errors)
      ? error.errors.map((i) => `\n  ${String(record(i).path)}: ${String(record(i).message)}`).join("")
      : ""
    const hint =
      tag === "Unauthenticated"
        ? "; log in with clawfleet login --token cft_… or set CLAWFLEET_TOKEN"
        : tag === "Forbidden"
          ? " (check the API token's scopes and your role)"
          : ""
    return `${tag ?? "error"}: ${error.detail}${hint}${issues}`
  }
  if (tag === "SchemaError") return `unexpected answer from ${server}: ${String(error.message)}`
  return e instanceof Error ? e.message : String(e)
}

/** Maps any client error to a `CliFailure` that describes it. */
export const orFail =
  (server: string) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, CliFailure, R> =>
    Effect.mapError(self, (e) => new CliFailure({ message: describe(server, e) }))
