import * as http from "node:http"
import type { Sessions, Tenants } from "@clawfleet/core"
import { type AgentApiServices, type IdentityRoutesServices, listen, makeAgentApi, makeIdentityRoutes, type Person } from "@clawfleet/core"
import { Context, Effect, Layer } from "effect"
import { makeHomePage } from "./home.ts"

export interface ControlPlaneHttpOptions {
  readonly publicUrl: string
  /** Default true: cookies only over HTTPS. */
  readonly secureCookies?: boolean | undefined
  readonly isAdmin?: ((person: Person) => boolean) | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
}

/**
 * The control plane's HTTP server: sign-in, pairing and opening assistants, the JWKS, the API
 * tenant agents call (`/agent/v1`), a front page and `/healthz`.
 */
export class ControlPlaneHttp extends Context.Service<ControlPlaneHttp, { readonly url: string; readonly port: number }>()(
  "@clawfleet/server/ControlPlaneHttp"
) {
  static layer(
    options: ControlPlaneHttpOptions
  ): Layer.Layer<ControlPlaneHttp, never, IdentityRoutesServices | AgentApiServices | Sessions | Tenants> {
    return Layer.effect(
      ControlPlaneHttp,
      Effect.gen(function* () {
        const identity = yield* makeIdentityRoutes({
          publicOrigin: options.publicUrl,
          secureCookies: options.secureCookies,
          isAdmin: options.isAdmin
        })
        const agentApi = yield* makeAgentApi
        const home = yield* makeHomePage
        const server = http.createServer((req, res) => {
          const path = (req.url ?? "/").split("?", 1)[0]
          if (path?.startsWith("/agent/v1/")) return agentApi(req, res)
          if (identity(req, res)) return
          if (req.method === "GET" && path === "/healthz") {
            res.writeHead(200, { "content-type": "text/plain" })
            return res.end("ok")
          }
          if (req.method === "GET" && path === "/") {
            home(req, res).catch(() => {
              if (!res.headersSent) res.writeHead(500)
              res.end()
            })
            return
          }
          res.writeHead(404, { "content-type": "application/json" })
          res.end(JSON.stringify({ error: "not-found" }))
        })
        const { origin, port } = yield* listen(server, { host: options.host, port: options.port })
        return ControlPlaneHttp.of({ url: origin, port })
      })
    )
  }
}
