import * as http from "node:http"
import { pipeline } from "node:stream"
import { connectVetted } from "./connect.ts"
import type { HandlerDeps } from "./decide.ts"
import { forwardTarget } from "./hostRules.ts"
import { refuseResponse } from "./refusal.ts"

// RFC 9110 §7.6.1: these describe one hop and must not be forwarded; proxy-authorization above all,
// since it carries the tenant's token.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade"
])

/** Raw headers (name, value, name, value ...) less hop-by-hop ones and those `Connection` names. */
export const endToEndHeaders = (raw: ReadonlyArray<string>, drop: ReadonlyArray<string> = []): Array<string> => {
  const named = new Set(drop)
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === "connection") for (const token of raw[i + 1]!.split(",")) named.add(token.trim().toLowerCase())
  }
  const out: Array<string> = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase()
    if (!HOP_BY_HOP.has(name) && !named.has(name)) out.push(raw[i]!, raw[i + 1]!)
  }
  return out
}

const ignore = () => {}

/**
 * Plain HTTP in absolute form (`GET http://host/path`): decided per request, so every request on
 * a kept-alive client connection is authenticated on its own. The upstream gets a connection of
 * its own, to a vetted address, closed after the response; nothing is pooled across tenants.
 */
export const makeForwardHandler =
  (deps: HandlerDeps) =>
  (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const { target, url } = forwardTarget(req.url)
    void deps.decide(req.headers["proxy-authorization"], target).then(async (verdict) => {
      if (!verdict.allow) return refuseResponse(res, verdict.status, verdict.reason)
      // Unreachable: a target that did not parse is never allowed; this only narrows the type.
      if (url === undefined) return refuseResponse(res, 400, "bad-request")
      const gone = () => res.destroyed || res.writableEnded
      const connected = await connectVetted(verdict.addresses, verdict.port, deps.connectTimeoutMs, gone)
      if (!connected.ok) return refuseResponse(res, connected.status, connected.reason)
      if (gone()) return connected.socket.destroy()
      connected.socket.setTimeout(deps.idleTimeoutMs, () => connected.socket.destroy(new Error("upstream idle")))
      // Host comes from the request target, not the client's Host header (RFC 9112 §3.2.2).
      const headers = ["Host", url.host, ...endToEndHeaders(req.rawHeaders, ["host"])]
      const upstream = http.request({
        method: req.method,
        path: `${url.pathname}${url.search}`,
        headers,
        setHost: false,
        createConnection: () => connected.socket
      })
      upstream.on("response", (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEndHeaders(answer.rawHeaders))
        pipeline(answer, res, ignore)
      })
      upstream.on("error", () => {
        if (res.headersSent) res.destroy()
        else refuseResponse(res, 502, "upstream-failed")
      })
      res.on("close", () => {
        if (!res.writableFinished) upstream.destroy()
      })
      // pipe, not pipeline: a failed upstream must not destroy the client before it hears 502.
      req.pipe(upstream)
    })
  }
