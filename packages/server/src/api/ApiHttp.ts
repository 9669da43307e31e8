import * as http from "node:http"
import type { ApiTokens, Audit, Catalog, Directory, Fleet, Grants, RecordStore, Sessions, Tenants } from "@clawfleet/core"
import { NodeHttpServer } from "@effect/platform-node"
import { Cause, Effect, Layer, Scope } from "effect"
import { HttpRouter, HttpServerError, HttpServerRequest, HttpServerRespondable, HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { Access } from "./Access.ts"
import { API_PREFIX, ClawfleetApi, OPENAPI_PATH } from "./Api.ts"
import { EgressDomainsHandlers, KnowledgeBasesHandlers, ModelsHandlers, SkillsHandlers, ToolsHandlers } from "./handlers/CatalogHandlers.ts"
import { GrantsHandlers } from "./handlers/GrantsHandlers.ts"
import { MeHandlers } from "./handlers/MeHandlers.ts"
import { DepartmentsHandlers, TeamsHandlers } from "./handlers/OrgHandlers.ts"
import { PeopleHandlers } from "./handlers/PeopleHandlers.ts"
import { TenantsHandlers } from "./handlers/TenantsHandlers.ts"
import { TokensHandlers } from "./handlers/TokensHandlers.ts"
import { AuditHandlers, UsageHandlers } from "./handlers/UsageHandlers.ts"
import { Idempotency, type IdempotencyOptions } from "./Idempotency.ts"
import { successOf } from "./idempotencySuccess.ts"
import { NotFound } from "./Problems.ts"
import { Roles, type RolesConfig } from "./Roles.ts"
import { AuthorizationLive, type AuthorizationOptions, ProblemResponsesLive } from "./SecurityLive.ts"

export interface ApiHttpOptions extends AuthorizationOptions {
  readonly roles?: RolesConfig | undefined
  readonly idempotency?: IdempotencyOptions | undefined
}

/**
 * What the API is built on: the fleet and its store, and the identity services that authenticate.
 * `SkillBundles`, `Metering` and `PairingLinks` are used when provided (skill bundle, usage and
 * pairing operations answer 404 without them); `ControlPlane.layer` provides all three. With a
 * `SqlClient` (a SQL store's) idempotency keys live in its database, else in this process.
 */
export type ApiHttpServices = Fleet | Grants | Catalog | Audit | Directory | Tenants | RecordStore | Sessions | ApiTokens

/** The API's routes (and `GET /openapi.json`) as an `HttpRouter` layer, for an Effect HTTP server. */
export const layer = (options: ApiHttpOptions = {}) =>
  HttpApiBuilder.layer(ClawfleetApi, { openapiPath: OPENAPI_PATH }).pipe(
    Layer.provide([MeHandlers, PeopleHandlers, TeamsHandlers, DepartmentsHandlers, TenantsHandlers, GrantsHandlers]),
    Layer.provide([ModelsHandlers, ToolsHandlers, EgressDomainsHandlers, KnowledgeBasesHandlers, SkillsHandlers]),
    Layer.provide([UsageHandlers, AuditHandlers, TokensHandlers]),
    Layer.provide([AuthorizationLive(options), ProblemResponsesLive]),
    Layer.provide([Access.layer, Idempotency.layer({ ...options.idempotency, success: successOf }), Roles.layer(options.roles)]),
    Layer.provide(NodeHttpServer.layerHttpServices)
  )

const isProblem = (response: HttpServerResponse.HttpServerResponse) => {
  const body = response.body
  const type = ("contentType" in body ? body.contentType : undefined) ?? response.headers["content-type"] ?? ""
  return type.startsWith("application/problem+json")
}

/**
 * Whatever the router answers on its own (no such route, a body that is not JSON, a defect) is
 * still a problem document, so a client parses every error the same way.
 */
const asProblem = (response: HttpServerResponse.HttpServerResponse) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    if (response.status < 400 || isProblem(response)) return Effect.succeed(response)
    if (response.status === 404) {
      const path = request.url.split("?", 1)[0]
      return HttpServerRespondable.toResponse(new NotFound({ detail: `no operation ${request.method} ${path}; see ${OPENAPI_PATH}` }))
    }
    const { "content-type": _type, "content-length": _length, ...headers } = response.headers
    const title = http.STATUS_CODES[response.status] ?? "Error"
    const detail =
      response.status === 415
        ? "send the body as application/json"
        : response.status >= 500
          ? "the server failed to answer; it has been logged"
          : title
    const problem = { type: "about:blank", title, status: response.status, detail }
    return Effect.succeed(
      HttpServerResponse.jsonUnsafe(problem, { status: response.status, headers, contentType: "application/problem+json" })
    )
  })

const guarded = <E, R>(self: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.matchCauseEffect(self, {
    onSuccess: asProblem,
    onFailure: (cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause)
        : Effect.flatMap(HttpServerError.causeResponse(cause), ([response, reported]) =>
            Effect.andThen(
              response.status >= 500 ? Effect.logError("clawfleet API: request failed", reported) : Effect.void,
              asProblem(response)
            )
          )
  })

/**
 * The REST API as a node:http handler, to mount in an existing server: it answers every path under
 * `/api/` and `GET /openapi.json` and returns true, or returns false for anything else, so the
 * server routes on. No request logger: the API sits on the control plane's busiest port.
 */
export const makeApiHttp = (
  options: ApiHttpOptions = {}
): Effect.Effect<(req: http.IncomingMessage, res: http.ServerResponse) => boolean, never, ApiHttpServices | Scope.Scope> =>
  Effect.gen(function* () {
    const httpEffect = yield* HttpRouter.toHttpEffect(layer(options))
    const handler = yield* NodeHttpServer.makeHandler(guarded(httpEffect), { scope: yield* Scope.Scope })
    return (req, res) => {
      const path = (req.url ?? "/").split("?", 1)[0] ?? "/"
      if (path !== OPENAPI_PATH && path !== "/api" && !path.startsWith("/api/")) return false
      handler(req, res)
      return true
    }
  })

export { API_PREFIX, OPENAPI_PATH }
