import type * as http from "node:http"
import type { Effect } from "effect"
import type { makeDecide, Permitted } from "./decide.ts"
import { forward } from "./forward.ts"
import { isRefusal, refusal, sendRefusal } from "./refusal.ts"
import { routeOf, upstreamUrl } from "./route.ts"
import type { Upstreams } from "./upstream.ts"

export interface BrokerOptions {
  readonly maxBodyBytes: number
  readonly upstreamTimeoutMs: number
  readonly streamRecheckMs: number
}

export interface BrokerServices {
  readonly decide: ReturnType<typeof makeDecide>
  readonly upstreams: Upstreams
  /** Runs an effect with the services the broker was built with. */
  readonly run: <A>(effect: Effect.Effect<A>) => Promise<A>
  /** Reports a bug: a request that failed in a way no refusal covers. */
  readonly report: (message: string, error: unknown) => void
}

// Streamable HTTP: POST carries messages, GET opens the server's stream, DELETE ends a session.
const METHODS = new Set(["POST", "GET", "DELETE"])

const NO_ROUTE = refusal(404, "Tools are served at /mcp/{tool}.")
const BAD_PATH = refusal(400, "The path below a tool must not contain '.' or '..' segments.")

/**
 * A stream (an SSE reply, the session's GET stream) can outlive the decision that let it open, and
 * the tool can keep sending on it. An exchange still open is decided again every `everyMs` and cut
 * as soon as the key, the grant or the tool's address no longer stands, or, for a per-person tool,
 * the owner's connection; a gate that cannot answer cuts it too.
 */
const watch = (
  services: BrokerServices,
  authorization: string | undefined,
  permitted: Permitted,
  everyMs: number,
  res: http.ServerResponse
): AbortSignal => {
  const cut = new AbortController()
  if (res.destroyed || res.writableFinished) return cut.signal
  const personal = permitted.tool.credentialMode === "per-person"
  const timer = setInterval(() => {
    const { admit, permit } = services.decide
    void services.run((personal ? permit : admit)(authorization, permitted.tool.name)).then((verdict) => {
      if (isRefusal(verdict) || verdict.tool.url !== permitted.tool.url) cut.abort()
    })
  }, everyMs)
  timer.unref()
  res.once("close", () => clearInterval(timer))
  return cut.signal
}

/** The request listener of the tool broker; mount it on any node:http server. */
export const makeHandler =
  (services: BrokerServices, options: BrokerOptions): http.RequestListener =>
  (req, res) => {
    const route = routeOf(req.url)
    if (route === "unknown") return sendRefusal(res, NO_ROUTE)
    if (route === "bad-path") return sendRefusal(res, BAD_PATH)
    if (!METHODS.has(req.method ?? "")) {
      return sendRefusal(res, refusal(405, `/mcp/${route.tool} takes POST, GET and DELETE.`, { allow: "POST, GET, DELETE" }))
    }
    const authorization = req.headers.authorization
    services
      .run(services.decide.permit(authorization, route.tool))
      .then((verdict) => {
        if (isRefusal(verdict)) return sendRefusal(res, verdict)
        forward({
          req,
          res,
          upstreams: services.upstreams,
          url: upstreamUrl(verdict.tool.url, route),
          credential: verdict.credential,
          personal: verdict.tool.credentialMode === "per-person",
          maxBodyBytes: options.maxBodyBytes,
          timeoutMs: options.upstreamTimeoutMs,
          signal: watch(services, authorization, verdict, options.streamRecheckMs, res)
        })
      })
      .catch((error: unknown) => {
        services.report("tool broker: request failed", error)
        sendRefusal(res, refusal(500, "The tool broker failed to handle this request."))
      })
  }
