import { type Person, SIGN_IN_SESSION_COOKIE } from "@clawfleet/core"
import { Context } from "effect"
import { type HttpApiEndpoint, HttpApiMiddleware, HttpApiSecurity, OpenApi } from "effect/http-api"
import { Forbidden, InvalidRequest, Unauthenticated, Unavailable } from "./Problems.ts"
import type { ApiScope, Role, RoleName } from "./Roles.ts"

/**
 * The contract side of API security, shared by the server and the typed client: who the caller
 * is, the access policy every operation declares, and the middleware that enforces both. The
 * server's implementation lives in `SecurityLive.ts`.
 */

/** The authenticated person behind a request. */
export interface Caller {
  readonly person: Person
  readonly role: Role
  /** The API token's scopes; undefined for a signed-in browser session. */
  readonly scopes: ReadonlyArray<string> | undefined
}

export class CurrentCaller extends Context.Service<CurrentCaller, Caller>()("@clawfleet/server/api/CurrentCaller") {}

/**
 * What an operation requires before its handler runs: one of these roles and, for an API token,
 * this scope. Handlers then narrow to the resources the caller reaches (a team administrator's
 * teams, a member's own records). An operation without a policy is refused to everybody, so a
 * new route cannot be forgotten open.
 */
export interface Policy {
  readonly roles: ReadonlyArray<RoleName>
  /** Undefined: any API token may call it (`GET /me`). */
  readonly scope: ApiScope | undefined
}

export class EndpointPolicy extends Context.Service<EndpointPolicy, Policy>()("@clawfleet/server/api/EndpointPolicy") {}

/** Declares an operation's policy; it is also published in the OpenAPI document as `x-clawfleet-access`. */
export const access =
  (roles: ReadonlyArray<RoleName>, scope?: ApiScope) =>
  <E extends HttpApiEndpoint.Constraint>(endpoint: E): E =>
    (endpoint as unknown as HttpApiEndpoint.Top)
      .annotate(EndpointPolicy, { roles, scope })
      .annotateMerge(OpenApi.annotations({ override: { "x-clawfleet-access": { roles, ...(scope ? { scope } : {}) } } })) as unknown as E

export const everyone: ReadonlyArray<RoleName> = ["org-admin", "team-admin", "member"]
export const admins: ReadonlyArray<RoleName> = ["org-admin", "team-admin"]
export const orgAdmins: ReadonlyArray<RoleName> = ["org-admin"]

export const SESSION_COOKIE: typeof SIGN_IN_SESSION_COOKIE = SIGN_IN_SESSION_COOKIE

/**
 * Authenticates with an API token (`Authorization: Bearer cft_…`) or the sign-in session cookie,
 * then enforces the operation's `Policy`. Missing or invalid credentials answer 401, a store that
 * cannot be reached 503, a policy that does not allow the caller 403.
 */
export class Authorization extends HttpApiMiddleware.Service<Authorization, { provides: CurrentCaller }>()(
  "@clawfleet/server/api/Authorization",
  {
    security: {
      apiToken: HttpApiSecurity.bearer.pipe(
        HttpApiSecurity.annotate(OpenApi.Description, "An API token (`cft_…`) created for a person, limited to its scopes.")
      ),
      session: HttpApiSecurity.apiKey({ key: SIGN_IN_SESSION_COOKIE, in: "cookie" }).pipe(
        HttpApiSecurity.annotate(OpenApi.Description, "The session cookie set by signing in at `/auth/login`.")
      )
    },
    error: [Unauthenticated, Forbidden, Unavailable]
  }
) {}

/**
 * The outermost middleware: a request that fails its schema becomes a 400 problem naming each
 * offending field, and a 503 gains `Retry-After`.
 */
export class ProblemResponses extends HttpApiMiddleware.Service<ProblemResponses>()("@clawfleet/server/api/ProblemResponses", {
  error: InvalidRequest
}) {}
