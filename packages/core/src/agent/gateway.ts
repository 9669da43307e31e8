import * as http from "node:http"
import * as net from "node:net"
import type { Duplex } from "node:stream"
import { forwardClientFrames } from "./connectFrame.ts"

// Hop-by-hop headers (RFC 9110 7.6.1) are the connection's, not the message's.
const HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "proxy-authorization",
  "proxy-authenticate"
])

/**
 * Forwarding headers. A browser must not be able to send them, and the agent sends none either:
 * OpenClaw takes a loopback request that carries one for a request relayed by a proxy it cannot
 * attribute, and in token mode refuses it.
 */
export const isForwardedHeader = (name: string): boolean => {
  const lower = name.toLowerCase()
  return lower.startsWith("x-forwarded-") || lower === "forwarded" || lower === "x-real-ip"
}

/**
 * The request's headers as the gateway should see them: hop-by-hop ones dropped, the agent's
 * cookie removed, the gateway's own credential in place of whatever the browser sent, and the
 * paired person in `user.header` (`x-clawfleet-person` by default). Whatever the browser sent as
 * forwarding headers or as that header is dropped first, so it cannot speak for someone else.
 */
export const gatewayHeaders = (
  req: http.IncomingMessage,
  cookie: string | undefined,
  gatewayToken: string,
  host: string,
  user: { readonly header: string; readonly person: string }
): Record<string, string | Array<string>> => {
  const named = new Set((req.headers.connection ?? "").split(",").map((h) => h.trim().toLowerCase()))
  const userHeader = user.header.toLowerCase()
  const out: Record<string, string | Array<string>> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP.has(name) || named.has(name) || name === "cookie" || name === "authorization") continue
    if (isForwardedHeader(name) || name === userHeader) continue
    out[name] = value
  }
  if (cookie !== undefined) out.cookie = cookie
  out.authorization = `Bearer ${gatewayToken}`
  out[userHeader] = user.person
  out.host = host
  return out
}

/** Streams one HTTP exchange to the gateway and back. */
export const proxyHttp = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  target: URL,
  headers: Record<string, string | Array<string>>,
  agent: http.Agent
) => {
  const out = http.request({ hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers, agent }, (reply) => {
    const replyHeaders = { ...reply.headers }
    for (const name of Object.keys(replyHeaders)) if (HOP.has(name)) delete replyHeaders[name]
    res.writeHead(reply.statusCode ?? 502, replyHeaders)
    reply.pipe(res)
  })
  out.on("error", () => {
    if (!res.headersSent) {
      res.writeHead(502, { "content-type": "text/plain; charset=utf-8" })
      res.end("The assistant is not answering yet. Try again in a moment.")
    } else res.destroy()
  })
  res.on("close", () => {
    if (!res.writableFinished) out.destroy()
  })
  req.pipe(out)
}

/**
 * Hands a WebSocket (or any Upgrade) to the gateway: the upgrade request goes out with the
 * gateway's credential, and from the gateway's answer on the two sockets are joined. A WebSocket
 * also gets the gateway's token into its `connect` request (see `forwardClientFrames`), which is
 * why it is offered no extensions: a compressed frame could not be read on the way.
 */
export const proxyUpgrade = (
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: URL,
  headers: Record<string, string | Array<string>>,
  gatewayToken: string
) => {
  const websocket = (req.headers.upgrade ?? "").toLowerCase() === "websocket"
  const upstream = net.connect({ host: target.hostname, port: Number(target.port), noDelay: true }, () => {
    const lines = [`${req.method} ${req.url} HTTP/1.1`]
    for (const [name, value] of Object.entries(headers)) {
      if (name.toLowerCase() === "sec-websocket-extensions") continue
      for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`)
    }
    // The upgrade itself is hop-by-hop: carried over as the browser asked for it.
    lines.push("connection: Upgrade", `upgrade: ${req.headers.upgrade ?? "websocket"}`)
    upstream.write(`${lines.join("\r\n")}\r\n\r\n`)
    upstream.pipe(socket)
    if (websocket) forwardClientFrames(socket, upstream, head, gatewayToken)
    else {
      if (head.length > 0) upstream.write(head)
      socket.pipe(upstream)
    }
  })
  const close = () => {
    upstream.destroy()
    socket.destroy()
  }
  upstream.on("error", close)
  socket.on("error", close)
  upstream.on("close", close)
  socket.on("close", close)
}
