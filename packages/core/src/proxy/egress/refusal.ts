import type * as http from "node:http"
import type { Duplex } from "node:stream"

const TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  407: "Proxy Authentication Required",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout"
}

/** Clients that send no credentials until asked (curl with --proxy-anyauth) need the challenge. */
const challenge = (status: number): Record<string, string> => (status === 407 ? { "proxy-authenticate": 'Basic realm="clawfleet"' } : {})

/**
 * A refusal on a socket that left the HTTP parser (CONNECT). The reason is a fixed word from the
 * proxy, never text from the request, so nothing the client sent is echoed back.
 */
export const refuseSocket = (socket: Duplex, status: number, reason: string): void => {
  if (socket.destroyed) return
  const body = `${reason}\n`
  const head = [`HTTP/1.1 ${status} ${TEXT[status] ?? "Error"}`]
  for (const [name, value] of Object.entries(challenge(status))) head.push(`${name}: ${value}`)
  head.push("content-type: text/plain; charset=utf-8", `content-length: ${Buffer.byteLength(body)}`, "connection: close")
  socket.end(`${head.join("\r\n")}\r\n\r\n${body}`)
}

/** The same refusal for a forwarded request still in the HTTP parser. */
export const refuseResponse = (res: http.ServerResponse, status: number, reason: string): void => {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = `${reason}\n`
  res.writeHead(status, {
    ...challenge(status),
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body)
  })
  res.end(body)
}
