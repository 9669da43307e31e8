import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Effect, type Scope } from "effect"

/** The HTTP side both fakes share: a loopback server, the request log, injected latency and failures. */

/** What the request log records of each request, before it is answered (failed ones included). */
export interface GcpRequest {
  readonly method: string
  /** The URL path as sent (still percent-encoded), without the query. */
  readonly path: string
  /** The query parameters; of a repeated one, the last. */
  readonly query: Readonly<Record<string, string>>
  /** The API method served, e.g. "storage.buckets.insert" or "iam.projects.serviceAccounts.setIamPolicy"; "unknown" for no route. */
  readonly operation: string
  /** Whether the method changes something (getIamPolicy is a POST that does not). */
  readonly write: boolean
  /** The parsed body of a JSON request. */
  readonly body?: unknown
  /** Whether an `Authorization` header came with it. */
  readonly authorized: boolean
}

/** A failure the fake answers with, in the error format of the API it fakes. */
export class ApiFailure extends Error {
  readonly code: number
  /** GCS's `errors[0].reason`; by default the usual one for `code`. */
  readonly reason: string | undefined
  /** IAM's canonical `status`; by default the usual one for `code`. */
  readonly status: string | undefined
  readonly headers: Readonly<Record<string, string>>

  constructor(
    code: number,
    message: string,
    extra: { readonly reason?: string; readonly status?: string; readonly headers?: Readonly<Record<string, string>> } = {}
  ) {
    super(message)
    this.code = code
    this.reason = extra.reason
    this.status = extra.status
    this.headers = extra.headers ?? {}
  }
}

export const fail = (code: number, message: string, extra?: { readonly reason?: string; readonly status?: string }): never => {
  throw new ApiFailure(code, message, extra)
}

/** An answer: JSON, raw bytes, or nothing. */
export interface Reply {
  readonly status: number
  readonly json?: unknown
  readonly data?: Uint8Array
  readonly headers?: Readonly<Record<string, string>>
}

export const ok = (json: unknown): Reply => ({ status: 200, json })
export const noContent: Reply = { status: 204 }

export interface Call {
  readonly method: string
  readonly url: URL
  readonly params: URLSearchParams
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
  /** `http://127.0.0.1:<port>`, for links in answers. */
  readonly origin: string
}

export interface Route {
  readonly operation: string
  readonly write: boolean
  readonly serve: (call: Call) => Reply
}

/** How injected failures answer. */
export interface FailureOptions {
  /** The HTTP status to answer with (in the API's error format), or "disconnect": the connection is destroyed without an answer. */
  readonly status: number | "disconnect"
  /** The error message (default: a generic one for the status). */
  readonly message?: string
  /** Which requests may fail (default: any). */
  readonly match?: (request: GcpRequest) => boolean
  /** Serve the request first, then fail it: the change happened but the client never learned of it. */
  readonly afterServing?: boolean
}

interface Rule {
  remaining: number
  readonly options: FailureOptions
}

/** Latency, the request log and pending failures: the mutable state a test drives. */
export class Harness {
  latencyMs: number
  readonly log: Array<GcpRequest> = []
  private rules: Array<Rule> = []

  constructor(latencyMs = 0) {
    this.latencyMs = latencyMs
  }

  failNext(count: number, options: FailureOptions): void {
    if (count > 0) this.rules.push({ remaining: count, options })
  }

  /** The failure due for `request`, if any, consuming one from the first rule that matches. */
  take(request: GcpRequest): FailureOptions | undefined {
    const rule = this.rules.find((r) => r.options.match?.(request) ?? true)
    if (rule === undefined) return undefined
    if (--rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule)
    return rule.options
  }
}

const readBody = (req: http.IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

const isJson = (headers: http.IncomingHttpHeaders) =>
  (headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() === "application/json"

/** Parses a JSON request body; an empty one is `{}`. */
export const jsonBody = (call: Call, parseError: () => never): Record<string, unknown> => {
  if (call.body.length === 0) return {}
  try {
    const parsed: unknown = JSON.parse(call.body.toString("utf8"))
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>
  } catch {}
  return parseError()
}

export interface Api {
  readonly route: (method: string, path: string, params: URLSearchParams) => Route | undefined
  /** The error body of the API for `failure`. */
  readonly render: (failure: ApiFailure) => unknown
  /** The failure for a path no route serves. */
  readonly notFound: (method: string, path: string) => ApiFailure
  /** The failure an injected `status` answers with. */
  readonly injected: (status: number, message: string | undefined) => ApiFailure
}

const send = (res: http.ServerResponse, reply: Reply) => {
  if (res.headersSent) return void res.end()
  if (reply.json !== undefined) {
    res.writeHead(reply.status, { "Content-Type": "application/json; charset=UTF-8", ...reply.headers })
    res.end(JSON.stringify(reply.json))
  } else {
    res.writeHead(reply.status, { ...reply.headers })
    res.end(reply.data === undefined ? undefined : Buffer.from(reply.data))
  }
}

const answerFailure = (api: Api, e: unknown): Reply => {
  const failure = e instanceof ApiFailure ? e : new ApiFailure(500, e instanceof Error ? e.message : String(e))
  return { status: failure.code, json: api.render(failure), headers: failure.headers }
}

const handle = async (api: Api, harness: Harness, req: http.IncomingMessage, res: http.ServerResponse) => {
  const url = new URL(req.url ?? "/", "http://fake")
  const method = req.method ?? "GET"
  let route: Route | undefined
  let unroutable: unknown
  try {
    route = api.route(method, url.pathname, url.searchParams)
  } catch (e) {
    unroutable = e
  }
  const body = await readBody(req)
  let parsed: unknown
  if (isJson(req.headers) && body.length > 0) {
    try {
      parsed = JSON.parse(body.toString("utf8"))
    } catch {}
  }
  const entry: GcpRequest = {
    method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    operation: route?.operation ?? "unknown",
    write: route?.write ?? false,
    ...(parsed === undefined ? {} : { body: parsed }),
    authorized: req.headers.authorization !== undefined
  }
  harness.log.push(entry)
  if (harness.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, harness.latencyMs))
  const fault = harness.take(entry)
  const failNow = () => {
    if (fault === undefined) return
    if (fault.status === "disconnect") return void req.socket.destroy()
    send(res, answerFailure(api, api.injected(fault.status, fault.message)))
  }
  if (fault !== undefined && fault.afterServing !== true) return failNow()
  let reply: Reply
  try {
    if (route === undefined) throw unroutable ?? api.notFound(method, url.pathname)
    reply = route.serve({
      method,
      url,
      params: url.searchParams,
      headers: req.headers,
      body,
      origin: `http://${req.headers.host ?? "127.0.0.1"}`
    })
  } catch (e) {
    reply = answerFailure(api, e)
  }
  if (fault !== undefined) return failNow()
  send(res, reply)
}

/** Serves `api` on 127.0.0.1 and a free port until the scope closes; the result is `http://127.0.0.1:<port>`. */
export const serve = (api: Api, harness: Harness): Effect.Effect<string, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.callback<http.Server>((resume) => {
        const server = http.createServer((req, res) => {
          handle(api, harness, req, res).catch((e: unknown) => send(res, answerFailure(api, e)))
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.callback<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    ),
    (server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  )

/** An opaque page token for "resume after `key`", and back. */
export const pageToken = {
  encode: (key: string): string => Buffer.from(key, "utf8").toString("base64url"),
  decode: (token: string | null, invalid: () => never): string | undefined => {
    if (token === null || token === "") return undefined
    const key = Buffer.from(token, "base64url").toString("utf8")
    return pageToken.encode(key) === token ? key : invalid()
  }
}

/** A page of `sorted` items whose keys come after `after`, and the token of the next page. */
export const page = <A>(sorted: ReadonlyArray<A>, key: (a: A) => string, after: string | undefined, size: number) => {
  const rest = after === undefined ? sorted : sorted.filter((a) => key(a) > after)
  const items = rest.slice(0, size)
  const last = items.at(-1)
  return { items, next: rest.length > size && last !== undefined ? pageToken.encode(key(last)) : undefined }
}

export const clone = <A>(value: A): A => structuredClone(value)
