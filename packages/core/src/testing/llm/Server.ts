import type { IncomingMessage, ServerResponse } from "node:http"
import { anthropic, messages } from "./Anthropic.ts"
import { type Completion, type Dialect, type GenerationRoute, isObject, type JsonObject, textChunks } from "./Dialect.ts"
import { chatCompletions, modelList, openAi, responses } from "./OpenAi.ts"
import { sleep, writeFlushed, writeStream } from "./Sse.ts"
import type { FakeLlmRequest, State } from "./State.ts"

/** The HTTP side of the fake: the request log, faults, keys, and routing to a dialect. */

export interface ServerContext {
  readonly state: State
  readonly models: ReadonlyArray<string>
  /** Aborted when the server closes, so that pending delays end. */
  readonly signal: AbortSignal
}

type Route = { readonly type: "models" } | { readonly type: "generate"; readonly route: GenerationRoute }

const ROUTES: Readonly<Record<string, Route>> = {
  "GET /v1/models": { type: "models" },
  "POST /v1/chat/completions": { type: "generate", route: chatCompletions },
  "POST /v1/responses": { type: "generate", route: responses },
  "POST /v1/messages": { type: "generate", route: messages }
}

const PREFIXES: Readonly<Record<GenerationRoute["dialect"]["name"], string>> = { openai: "chatcmpl-", anthropic: "msg_" }

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const parseJson = (text: string): { readonly ok: boolean; readonly value: unknown } => {
  if (text === "") return { ok: false, value: undefined }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false, value: text }
  }
}

const headersOf = (req: IncomingMessage): Record<string, string> =>
  Object.fromEntries(
    Object.entries(req.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k.toLowerCase(), Array.isArray(v) ? v.join(", ") : v]]))
  )

let ids = 0

export const handler = (ctx: ServerContext) => (req: IncomingMessage, res: ServerResponse) => {
  void handle(ctx, req, res).catch((e: unknown) => {
    if (res.headersSent) return void res.destroy()
    res.writeHead(500, { "Content-Type": "application/json" })
    res.end(JSON.stringify(openAi.error(500, e instanceof Error ? e.message : String(e))))
  })
}

const handle = async (ctx: ServerContext, req: IncomingMessage, res: ServerResponse) => {
  const { state, signal } = ctx
  const method = req.method ?? "GET"
  const path = new URL(req.url ?? "/", "http://fake").pathname
  const raw = await readBody(req)
  const json = parseJson(raw)
  const request: FakeLlmRequest = { method, path, headers: headersOf(req), body: json.value }
  state.log.push(request)
  await sleep(state.latencyMs, signal)
  if (signal.aborted) return

  const route = ROUTES[`${method} ${path}`]
  const dialect: Dialect = route?.type === "generate" ? route.route.dialect : path.startsWith("/v1/messages") ? anthropic : openAi
  const requestId = `req_fake${++ids}`
  const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "Content-Type": "application/json", [dialect.requestIdHeader]: requestId, ...headers })
    res.end(JSON.stringify(body))
  }
  const fail = (status: number, message: string, code?: string | null, headers?: Record<string, string>) =>
    send(status, dialect.error(status, message, code), headers)

  if (route === undefined) return fail(404, `Invalid URL (${method} ${path})`)
  const failure = state.takeFailure()
  if (failure !== undefined) {
    const retry = failure.retryAfterSeconds
    return fail(failure.status, failure.message ?? dialect.messages.failure(failure.status), undefined, {
      ...(retry === undefined ? {} : { "Retry-After": String(retry) })
    })
  }
  if (state.apiKey !== undefined) {
    const presented = dialect.apiKey(request.headers)
    if (presented === undefined) return fail(401, dialect.messages.missingKey)
    if (presented !== state.apiKey) return fail(401, dialect.messages.invalidKey, "invalid_api_key")
  }
  if (route.type === "models") return send(200, modelList(ctx.models, 1_700_000_000))

  if (!json.ok || !isObject(json.value)) return fail(400, dialect.messages.invalidJson)
  const body: JsonObject = json.value
  if (typeof body.model !== "string")
    return fail(400, dialect.name === "openai" ? "you must provide a model parameter" : "model: Field required")
  if (!ctx.models.includes(body.model)) return fail(404, dialect.messages.unknownModel(body.model), "model_not_found")
  const invalid = route.route.invalid(body)
  if (invalid !== undefined) return fail(400, invalid)

  const usage = state.usageFor(request)
  const chunks = textChunks(usage.completionTokens)
  const prefix = route.route === responses ? "resp_" : PREFIXES[dialect.name]
  const completion: Completion = {
    id: `${prefix}fake${String(++ids).padStart(6, "0")}`,
    model: body.model,
    created: Math.floor(Date.now() / 1000),
    chunks,
    text: chunks.join(""),
    usage
  }
  const drop = state.takeDrop()
  const idHeader = { [dialect.requestIdHeader]: requestId }
  if (route.route.streaming(body)) {
    return writeStream(res, route.route.events(body, completion), {
      chunkDelayMs: state.chunkDelayMs,
      dropAfterChunks: drop?.afterChunks,
      headers: idHeader,
      signal
    })
  }
  if (drop === undefined) return send(200, route.route.reply(body, completion))
  // A non-streaming reply that is dropped announces its full length, then sends half of it.
  const bytes = Buffer.from(JSON.stringify(route.route.reply(body, completion)))
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(bytes.length), ...idHeader })
  await writeFlushed(res, bytes.subarray(0, Math.floor(bytes.length / 2)))
  res.destroy()
}
