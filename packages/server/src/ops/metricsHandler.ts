import type * as http from "node:http"
import type { Metrics } from "./Metrics.ts"
import { CONTENT_TYPE } from "./metrics/exposition.ts"

export const METRICS_PATH = "/metrics"

/**
 * Answers `GET /metrics` (and `HEAD`) with the Prometheus exposition, and returns false for any
 * other path, so it goes in front of a server's routes: `if (metrics(req, res)) return`. The
 * metrics name no tenant or person, but they do tell how busy the fleet is: keep the path off the
 * public ingress, or serve it on a port of its own.
 */
export const metricsHandler =
  (metrics: Metrics["Service"], options: { readonly path?: string | undefined } = {}) =>
  (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    const path = (req.url ?? "/").split("?", 1)[0]
    if (path !== (options.path ?? METRICS_PATH)) return false
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" })
      res.end("metrics take GET\n")
      return true
    }
    let body: string
    try {
      body = metrics.render()
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain; charset=utf-8" })
      res.end(`metrics could not be collected: ${e instanceof Error ? e.message : String(e)}\n`)
      return true
    }
    // Every scrape must see the values of now, never a cached copy.
    res.writeHead(200, { "content-type": CONTENT_TYPE, "content-length": Buffer.byteLength(body), "cache-control": "no-store" })
    res.end(req.method === "HEAD" ? undefined : body)
    return true
  }
