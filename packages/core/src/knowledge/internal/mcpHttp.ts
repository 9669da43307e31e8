import type * as http from "node:http"
import { Effect } from "effect"
import type { StoreError } from "../../Errors.ts"
import { isRefusal, type Refusal, refusal, sendRefusal, UNAUTHENTICATED } from "../../proxy/broker/refusal.ts"
import type { TenantGate } from "../../proxy/TenantGate.ts"
import type { Caller, Tools } from "./mcpTools.ts"

/**
 * Revisions whose transport is Streamable HTTP, newest first. 2024-11-05 is left out: its HTTP
 * transport is the older SSE one, which this server does not speak.
 */
export const SUPPORTED_PROTOCOL_VERSIONS: ReadonlyArray<string> = ["2025-11-25", "2025-06-18", "2025-03-26"]
const FALLBACK_PROTOCOL_VERSION = "2025-06-18"

export interface McpHttpConfig {
  readonly path: string
  readonly maxBodyBytes: number
  readonly gate: TenantGate["Service"]
  readonly tools: Tools
  readonly run: <A>(effect: Effect.Effect<A>) => Promise<A>
  /** Reports a bug: a request that failed in a way no refusal covers. */
  readonly report: (message: string, error: unknown) => void
}

type Id = string | number
type Reply = { readonly status: 200 | 400; readonly body: unknown } | { readonly status: 202 } | Refusal

const UNAVAILABLE = refusal(503, "The knowledge server cannot reach its store; nothing is answered unchecked. Try again shortly.", {
  "retry-after": "1"
})

const rpcError = (id: Id | null, code: number, message: string): Reply => ({
  status: 200,
  body: { jsonrpc: "2.0", id, error: { code, message } }
})
const rpcResult = (id: Id, result: unknown): Reply => ({ status: 200, body: { jsonrpc: "2.0", id, result } })
// A message the server cannot take as JSON-RPC at all is a bad HTTP request, as the transport says.
const badMessage = (code: number, message: string): Reply => ({
  status: 400,
  body: { jsonrpc: "2.0", id: null, error: { code, message } }
})

const bearerKey = (authorization: string | undefined) => /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1]

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const isId = (u: unknown): u is Id => typeof u === "string" || (typeof u === "number" && Number.isFinite(u))

/** The body, "too-large" once it grows past `limit` bytes, or "gone" when the client left before sending it all. */
const readBody = (req: http.IncomingMessage, limit: number): Promise<{ readonly text: string } | "too-large" | "gone"> =>
  new Promise((resolve) => {
    // Read only after authentication: a client that left meanwhile sends no further event.
    if (req.destroyed) return resolve("gone")
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size <= limit) chunks.push(chunk)
    })
    req.on("end", () => resolve(size > limit ? "too-large" : { text: Buffer.concat(chunks).toString("utf8") }))
    // After "end" these change nothing: a promise keeps its first answer.
    req.on("error", () => resolve("gone"))
    req.on("close", () => resolve("gone"))
  })

const send = (res: http.ServerResponse, reply: Reply) => {
  if ("message" in reply) return sendRefusal(res, reply)
  if (res.destroyed) return
  if (reply.status === 202) return void res.writeHead(202).end()
  const body = JSON.stringify(reply.body)
  res.writeHead(reply.status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  res.end(body)
}

/**
 * The MCP Streamable HTTP transport in its stateless JSON form: every POST carries one JSON-RPC
 * message and gets its answer as one JSON body, so no session or stream outlives a request and
 * each request is authenticated on its own. A path of `${path}/{base}` serves that one base.
 */
export const makeMcpHandler = (config: McpHttpConfig): http.RequestListener => {
  const { gate, tools } = config
  const prefix = `${config.path}/`

  const scopeOf = (url: string | undefined): string | undefined | "unknown" => {
    const pathname = (url ?? "").split("?")[0]!
    if (pathname === config.path || pathname === prefix) return undefined
    const rest = pathname.startsWith(prefix) ? pathname.slice(prefix.length) : ""
    return /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(rest) ? rest : "unknown"
  }

  const authenticate = (authorization: string | undefined): Effect.Effect<Caller["identity"] | Refusal> =>
    Effect.gen(function* () {
      const key = bearerKey(authorization)
      return (key === undefined ? undefined : yield* gate.authenticate(key)) ?? UNAUTHENTICATED
    }).pipe(
      Effect.catchCause((cause) =>
        Effect.logWarning("knowledge server: the tenant gate failed; refusing", cause).pipe(Effect.as(UNAVAILABLE))
      )
    )

  const request = (caller: Caller, id: Id, method: string, params: Record<string, unknown>): Effect.Effect<Reply, StoreError> => {
    switch (method) {
      case "initialize": {
        const asked = params.protocolVersion
        const protocolVersion = typeof asked === "string" && SUPPORTED_PROTOCOL_VERSIONS.includes(asked) ? asked : FALLBACK_PROTOCOL_VERSION
        return Effect.succeed(
          rpcResult(id, {
            protocolVersion,
            capabilities: { tools: {} },
            serverInfo: { name: "clawfleet-knowledge", title: "clawfleet knowledge bases", version: "1.0.0" },
            instructions: "Search the organisation's knowledge bases with `search`, then read a document with `fetch`."
          })
        )
      }
      case "ping":
        return Effect.succeed(rpcResult(id, {}))
      case "tools/list":
        return Effect.map(tools.list(caller), (list) => rpcResult(id, { tools: list }))
      case "tools/call": {
        if (typeof params.name !== "string") return Effect.succeed(rpcError(id, -32602, "tools/call needs the tool's `name`."))
        const name = params.name
        return Effect.map(tools.call(caller, name, params.arguments), (result) =>
          result === undefined ? rpcError(id, -32602, `Unknown tool: ${name}`) : rpcResult(id, result)
        )
      }
      default:
        return Effect.succeed(rpcError(id, -32601, `Method not found: ${method}`))
    }
  }

  const answer = (caller: Caller, text: string, version: string | undefined): Effect.Effect<Reply, StoreError> => {
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch {
      return Effect.succeed(badMessage(-32700, "Parse error: the body is not JSON."))
    }
    if (Array.isArray(message)) return Effect.succeed(badMessage(-32600, "Batches are not supported: send one message per request."))
    if (!isRecord(message) || message.jsonrpc !== "2.0") {
      return Effect.succeed(badMessage(-32600, "Invalid Request: not a JSON-RPC 2.0 message."))
    }
    const { id, method, params = {} } = message
    if (typeof method !== "string") {
      // A client's response (to a request this server never sends) is accepted and dropped.
      return Effect.succeed(
        id !== undefined && ("result" in message || "error" in message) ? { status: 202 } : badMessage(-32600, "Invalid Request.")
      )
    }
    // After initialization a client names the revision it negotiated; one this server never offers is refused.
    if (version !== undefined && method !== "initialize" && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      return Effect.succeed(
        badMessage(-32600, `Unsupported MCP-Protocol-Version ${version}; supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")}.`)
      )
    }
    if (id === undefined) return Effect.succeed({ status: 202 })
    if (!isId(id)) return Effect.succeed(badMessage(-32600, "Invalid Request: the id must be a string or a number."))
    if (!isRecord(params)) return Effect.succeed(rpcError(id, -32602, "Invalid params: params must be an object."))
    return request(caller, id, method, params)
  }

  const NO_ROUTE = refusal(404, `Knowledge bases are served at ${config.path} and ${config.path}/{knowledge-base}.`)
  const TOO_LARGE = refusal(413, `The request body exceeds ${config.maxBodyBytes} bytes.`)

  return (req, res) => {
    const scope = scopeOf(req.url)
    if (scope === "unknown") return sendRefusal(res, NO_ROUTE)
    // Stateless: no stream for GET to open and no session for DELETE to end.
    if (req.method !== "POST") return sendRefusal(res, refusal(405, `${config.path} takes POST only.`, { allow: "POST" }))
    if (Number(req.headers["content-length"]) > config.maxBodyBytes) return sendRefusal(res, TOO_LARGE)
    const version = req.headers["mcp-protocol-version"]
    config
      .run(authenticate(req.headers.authorization))
      .then(async (identity) => {
        if (isRefusal(identity)) return send(res, identity)
        const body = await readBody(req, config.maxBodyBytes)
        if (body === "gone") return
        if (body === "too-large") return send(res, TOO_LARGE)
        const reply = await config.run(
          answer({ identity, scope }, body.text, typeof version === "string" ? version : undefined).pipe(
            Effect.catchTag("StoreError", (e) =>
              Effect.logWarning("knowledge server: the store failed; refusing", e).pipe(Effect.as<Reply>(UNAVAILABLE))
            )
          )
        )
        send(res, reply)
      })
      .catch((error: unknown) => {
        config.report("knowledge server: request failed", error)
        sendRefusal(res, refusal(500, "The knowledge server failed to handle this request."))
      })
  }
}
