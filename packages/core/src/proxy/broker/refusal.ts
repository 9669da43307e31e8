import type * as http from "node:http"

/**
 * A request the broker answers itself. MCP clients read a JSON-RPC error wherever they expect a
 * message, so every refusal carries one, with `id: null` since the broker does not parse the
 * request it refuses.
 */
export interface Refusal {
  readonly status: number
  readonly message: string
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * JSON-RPC codes by status, from the range JSON-RPC leaves to implementations: -32001, -32003
 * and -32004 mirror 401, 403 and 404; the rest use -32000, as the MCP SDK does for transport errors.
 */
const CODES: Readonly<Record<number, number>> = { 401: -32001, 403: -32003, 404: -32004 }

export const refusal = (status: number, message: string, headers?: Readonly<Record<string, string>>): Refusal => ({
  status,
  message,
  headers
})

export const UNAUTHENTICATED = refusal(
  401,
  "Send your clawfleet key as `Authorization: Bearer <key>`; the key given is missing, wrong or revoked.",
  {
    "www-authenticate": 'Bearer realm="clawfleet"'
  }
)

export const UNAVAILABLE = refusal(503, "The tool broker cannot reach its store; no call is let through unchecked. Try again shortly.", {
  "retry-after": "1"
})

export const isRefusal = (u: unknown): u is Refusal => typeof u === "object" && u !== null && "status" in u && "message" in u

/** Answers with `r`, unless the response has begun (then it can only be cut). */
export const sendRefusal = (res: http.ServerResponse, r: Refusal): void => {
  if (res.destroyed) return
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = JSON.stringify({ jsonrpc: "2.0", error: { code: CODES[r.status] ?? -32000, message: r.message }, id: null })
  res.writeHead(r.status, { ...r.headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  res.end(body)
}
