import { randomUUID } from "node:crypto"
import * as http from "node:http"
import {
  type AgentApiServices,
  type IdentityRoutesServices,
  listen,
  makeAgentApi,
  makeIdentityRoutes,
  type Person,
  RecordStore,
  type Sessions,
  type Tenants
} from "@clawfleet/core"
import { Context, Effect, Exit, Layer, Option } from "effect"
import { type ApiHttpServices, makeApiHttp } from "../api/ApiHttp.ts"
import { Roles, type RolesConfig } from "../api/Roles.ts"
import { Metrics, metricsHandler } from "../ops/index.ts"
import { makeScimHandler, type ScimHandlerOptions, type ScimServices } from "../scim/index.ts"
import { makeWebPages, type WebPagesServices } from "../web/index.ts"

const REQUEST_ID = "x-request-id"
const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/

export interface ControlPlaneHttpOptions {
  readonly publicUrl: string
  /** Default true: cookies only over HTTPS. */
  readonly secureCookies?: boolean | undefined
  readonly isAdmin?: ((person: Person) => boolean) | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  /** Who administers what through the REST API (`/api/v1`); decides `isAdmin` too when that is not given. */
  readonly roles?: RolesConfig | undefined
  /** SCIM provisioning at /scim/v2 (Okta, Entra ID); every request needs a token scoped `scim:provision`. */
  readonly scim?: Omit<ScimHandlerOptions, "publicUrl"> | undefined
}

/**
 * The control plane's HTTP server: sign-in, pairing and opening assistants, the JWKS, the API
 * tenant agents call (`/agent/v1`), the REST API (`/api/v1`, `/openapi.json`), SCIM provisioning
 * (`/scim/v2`), the web pages (`/`, `/admin/...`), `/healthz` (the process answers), `/readyz` (its store answers too)
 * and, when a `Metrics` service is provided, `/metrics`.
 */
export class ControlPlaneHttp extends Context.Service<ControlPlaneHttp, { readonly url: string; readonly port: number }>()(
  "@clawfleet/server/ControlPlaneHttp"
) {
  static layer(
    options: ControlPlaneHttpOptions
  ): Layer.Layer<
    ControlPlaneHttp,
    never,
    IdentityRoutesServices | AgentApiServices | Sessions | Tenants | ScimServices | ApiHttpServices | RecordStore | WebPagesServices
  > {
    return Layer.effect(
      ControlPlaneHttp,
      Effect.gen(function* () {
        const identity = yield* makeIdentityRoutes({
          publicOrigin: options.publicUrl,
          secureCookies: options.secureCookies,
          isAdmin: options.isAdmin ?? Roles.make(options.roles).isOrgAdmin
        })
        const api = yield* makeApiHttp({ roles: options.roles, publicOrigin: options.publicUrl })
        const agentApi = yield* makeAgentApi
        const web = yield* makeWebPages({ roles: options.roles, publicOrigin: options.publicUrl })
        const scim = yield* makeScimHandler({ ...options.scim, publicUrl: options.publicUrl })
        const metrics = Option.map(yield* Effect.serviceOption(Metrics), metricsHandler)
        const store = yield* RecordStore
        const run = Effect.runPromiseExitWith(yield* Effect.context<never>())
        const text = (res: http.ServerResponse, status: number, body: string) => {
          res.writeHead(status, { "content-type": "text/plain", "cache-control": "no-store" })
          res.end(body)
        }
        // Ready means able to serve: the store answers. A replica that cannot reach it leaves the
        // load balancer until it can.
        const readyz = (res: http.ServerResponse) =>
          run(store.revision(["tenants"])).then(
            (exit) => (Exit.isSuccess(exit) ? text(res, 200, "ready") : text(res, 503, "the store does not answer")),
            () => text(res, 503, "the store does not answer")
          )
        const server = http.createServer((req, res) => {
          // One id per request, the caller's when it is sane: echoed back, and seen by the API,
          // which records it in the audit log, so a support ticket leads to the event.
          const given = req.headers[REQUEST_ID]
          const requestId = typeof given === "string" && SANE_ID.test(given) ? given : randomUUID()
          req.headers[REQUEST_ID] = requestId
          res.setHeader(REQUEST_ID, requestId)
          const path = (req.url ?? "/").split("?", 1)[0]
          if (path?.startsWith("/agent/v1/")) return agentApi(req, res)
          if (api(req, res)) return
          if (identity(req, res)) return
          if (scim(req, res)) return
          if (Option.isSome(metrics) && metrics.value(req, res)) return
          if (req.method === "GET" && path === "/healthz") return text(res, 200, "ok")
          if (req.method === "GET" && path === "/readyz") return void readyz(res)
          if (web(req, res)) return
          res.writeHead(404, { "content-type": "application/json" })
          res.end(JSON.stringify({ error: "not-found" }))
        })
        const { origin, port } = yield* listen(server, { host: options.host, port: options.port })
        return ControlPlaneHttp.of({ url: origin, port })
      })
    )
  }
}
