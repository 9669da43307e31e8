import { ApiTokens, Directory, type Person, Sessions, withActor } from "@clawfleet/core"
import { Context, Effect, type Exit, Layer } from "effect"
import { HttpServerRequest, HttpServerRespondable, HttpServerResponse } from "effect/http"
import { HttpApiError } from "effect/http-api"
import { Forbidden, fromSchemaError, retryAfterOf, storeUnavailable, Unauthenticated, Unavailable } from "./Problems.ts"
import { Roles } from "./Roles.ts"
import { Authorization, type Caller, CurrentCaller, EndpointPolicy, ProblemResponses, SESSION_COOKIE } from "./Security.ts"

// A client-chosen request id is carried into the audit log, if it looks like one.
const requestIdOf = (request: HttpServerRequest.HttpServerRequest) => {
  const id = request.headers["x-request-id"]
  return id !== undefined && /^[A-Za-z0-9._:-]{1,128}$/.test(id) ? id : undefined
}

export interface AuthorizationOptions {
  /**
   * Where people reach the control plane (`https://clawfleet.example.com`). When set, a change
   * made with the session cookie must not come from another origin: a browser always sends
   * `Origin` on a cross-site request, so a page elsewhere cannot act with a signed-in person's
   * cookie. API tokens are not ambient credentials and need no such check.
   */
  readonly publicOrigin?: string | undefined
}

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"])

/**
 * The server side of `Authorization`. An API token in `Authorization: Bearer` wins over the
 * session cookie, as on the identity routes: a script that sends a bad token is told so rather
 * than silently acting as whoever's browser cookie came along.
 */
export const AuthorizationLive = (
  options: AuthorizationOptions = {}
): Layer.Layer<Authorization, never, Sessions | ApiTokens | Directory | Roles> =>
  Layer.effect(
    Authorization,
    Effect.gen(function* () {
      const origin = options.publicOrigin === undefined ? undefined : new URL(options.publicOrigin).origin
      const sessions = yield* Sessions
      const apiTokens = yield* ApiTokens
      const directory = yield* Directory
      const roles = yield* Roles

      const callerOf = (person: Person, scopes: ReadonlyArray<string> | undefined): Caller => ({ person, role: roles.of(person), scopes })

      const authenticate = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Caller, Unauthenticated | Unavailable> => {
        const authorization = request.headers.authorization
        if (authorization !== undefined && /^bearer\s/i.test(authorization)) {
          const token = authorization.replace(/^bearer\s+/i, "").trim()
          if (!token.startsWith("cft_"))
            return Effect.fail(new Unauthenticated({ detail: "the bearer token is not a clawfleet API token (cft_…)" }))
          return apiTokens.verify(token).pipe(
            Effect.flatMap((t) => Effect.map(directory.people.find(t.person), (found) => ({ found, scopes: t.scopes }))),
            Effect.flatMap(({ found, scopes }) =>
              found === undefined || found.value.disabled
                ? Effect.fail(new Unauthenticated({ detail: "the API token's person is disabled or gone" }))
                : Effect.succeed(callerOf(found.value, scopes))
            ),
            Effect.catchTags({
              TokenError: (e) => Effect.fail(new Unauthenticated({ detail: e.detail })),
              StoreError: storeUnavailable
            })
          )
        }
        if (authorization !== undefined)
          return Effect.fail(new Unauthenticated({ detail: "only Bearer API tokens are accepted in Authorization" }))
        const cookie = request.cookies[SESSION_COOKIE]
        if (cookie === undefined || cookie === "") {
          return Effect.fail(
            new Unauthenticated({ detail: `sign in (cookie ${SESSION_COOKIE}) or send an API token as Authorization: Bearer` })
          )
        }
        return sessions.verify(cookie).pipe(
          Effect.catchTag("StoreError", storeUnavailable),
          Effect.flatMap((person) =>
            person === undefined
              ? Effect.fail(new Unauthenticated({ detail: "the session has ended or is not known; sign in again" }))
              : Effect.succeed(callerOf(person, undefined))
          )
        )
      }

      // Both security schemes run this. HttpApi tries the second only when the first failed, and
      // then it must answer the same, so the outcome is kept per request rather than asked twice.
      const outcomes = new WeakMap<object, Exit.Exit<Caller, Unauthenticated | Unavailable>>()

      const authorize: Authorization["Service"]["apiToken"] = (httpEffect, { endpoint, group }) =>
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          let outcome = outcomes.get(request)
          if (outcome === undefined) {
            outcome = yield* Effect.exit(authenticate(request))
            outcomes.set(request, outcome)
          }
          const caller = yield* outcome
          const from = request.headers.origin
          if (
            caller.scopes === undefined &&
            origin !== undefined &&
            from !== undefined &&
            from !== origin &&
            !safeMethods.has(request.method)
          ) {
            return yield* new Forbidden({ detail: `cross-origin request refused: changes with a session must come from ${origin}` })
          }
          const operation = `${group.identifier}.${endpoint.identifier}`
          const policy = Context.getOrUndefined(endpoint.annotations, EndpointPolicy)
          if (policy === undefined) {
            return yield* new Forbidden({ detail: `${operation} declares no access policy, so nobody may call it` })
          }
          if (!policy.roles.includes(caller.role.name)) {
            return yield* new Forbidden({ detail: `a ${caller.role.name} may not call ${operation}` })
          }
          if (caller.scopes !== undefined && policy.scope !== undefined && !caller.scopes.includes(policy.scope)) {
            return yield* new Forbidden({ detail: `the API token lacks the scope ${policy.scope}` })
          }
          return yield* httpEffect.pipe(
            Effect.provideService(CurrentCaller, caller),
            withActor(`person:${caller.person.id}`, requestIdOf(request))
          )
        })

      return Authorization.of({ apiToken: authorize, session: authorize })
    })
  )

/** The server side of `ProblemResponses`. */
export const ProblemResponsesLive: Layer.Layer<ProblemResponses> = Layer.succeed(ProblemResponses, (httpEffect) =>
  Effect.catch(httpEffect, (error: unknown) => {
    if (HttpApiError.HttpApiSchemaError.is(error)) {
      // A response that does not fit its own schema is our bug, not the caller's.
      return error.kind === "Body" || error.kind === "ResponseHeaders" ? Effect.die(error) : Effect.fail(fromSchemaError(error))
    }
    if (error instanceof Unavailable) {
      return Effect.map(HttpServerRespondable.toResponse(error), HttpServerResponse.setHeader("retry-after", String(retryAfterOf(error))))
    }
    return Effect.fail(error as never)
  })
)
