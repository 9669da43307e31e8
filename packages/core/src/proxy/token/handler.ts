import { randomUUID } from "node:crypto"
import type * as http from "node:http"
import { Cause, Effect, Exit, Option } from "effect"
import { ValidationError } from "../../Errors.ts"
import { makeBatcher } from "../internal/batcher.ts"
import { reservationError } from "../internal/meteringRules.ts"
import type { Admission, Closing, Metering, MeteringLimits, RefusalReason, ReservationRequest } from "../Metering.ts"
import type { TenantGate, TenantIdentity } from "../TenantGate.ts"
import { type Dialect, type ProxyFailure, REQUEST_ID_HEADER, sendFailure } from "./dialect.ts"
import { forward } from "./forward.ts"
import { budgetWarning, costMicros, type DefaultLimits, limitsOf } from "./pricing.ts"
import { generationRoutes, type Route } from "./routes.ts"
import type { Upstream } from "./upstream.ts"

export interface HandlerOptions {
  readonly upstreams: ReadonlyMap<string, Upstream>
  readonly maxBodyBytes: number
  readonly defaultMaxOutputTokens: number
  readonly maxOutputTokens: number
  readonly defaults: DefaultLimits
  /** Input tokens to hold for a body of this many bytes: an upper bound of what it can count. */
  readonly estimateInputTokens: (bodyBytes: number) => number
}

export interface HandlerServices {
  readonly gate: TenantGate["Service"]
  readonly metering: Metering["Service"]
  /** Runs an effect with the services the layer was built with. */
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => Promise<Exit.Exit<A, E>>
}

const fail = (status: number, message: string, code: ProxyFailure["code"], extra?: Partial<ProxyFailure>): ProxyFailure => ({
  status,
  message,
  code,
  ...extra
})

const UNAVAILABLE = fail(
  503,
  "The proxy cannot reach its store; no request is served without metering. Try again shortly.",
  "unavailable",
  {
    retryAfterSeconds: 1
  }
)

const isFailure = (u: unknown): u is ProxyFailure => typeof u === "object" && u !== null && "status" in u && "code" in u

const DOWN: unique symbol = Symbol("store unavailable")

const REFUSALS: Record<RefusalReason, { readonly message: string; readonly code: ProxyFailure["code"] }> = {
  MonthlyTokens: { message: "This assistant's monthly token budget is used up.", code: "insufficient_quota" },
  MonthlyMicros: { message: "This assistant's monthly USD budget is used up.", code: "insufficient_quota" },
  RequestsPerMinute: { message: "Rate limit reached for requests per minute.", code: "rate_limit_exceeded" },
  TokensPerMinute: { message: "Rate limit reached for tokens per minute.", code: "rate_limit_exceeded" },
  DuplicateRequest: { message: "A request with this id was already metered.", code: null }
}

const keyOf = (req: http.IncomingMessage): string | undefined => {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1]
  const header = req.headers["x-api-key"]
  return bearer ?? (typeof header === "string" && header !== "" ? header : undefined)
}

const readBody = (req: http.IncomingMessage, limit: number): Promise<Buffer | "too-large"> =>
  new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"])
    if (Number.isFinite(declared) && declared > limit) {
      req.resume()
      return resolve("too-large")
    }
    const parts: Array<Buffer> = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.removeAllListeners("data")
        req.resume()
        resolve("too-large")
      } else parts.push(chunk)
    })
    req.on("end", () => resolve(size > limit ? "too-large" : Buffer.concat(parts, size)))
    req.on("error", reject)
  })

/** The request listener of the token proxy; mount it on any node:http server. */
export const makeHandler = (services: HandlerServices, options: HandlerOptions): http.RequestListener => {
  const { gate, metering, run } = services
  // Reservations gather while one batch is in the store: one statement per round trip under load.
  const reserveBatch = makeBatcher((items: ReadonlyArray<ReservationRequest>) => run(metering.reserveMany(items)))
  // Closings gather while one batch is in the store: one statement per round trip under load.
  const closeBatch = makeBatcher((items: ReadonlyArray<Closing>) => run(metering.closeMany(items)))
  const close = (item: Closing) => closeBatch(item).then(Exit.isSuccess)

  // A store failure fails the request closed; a defect is a bug and is reported as one. A request
  // the metering refuses as malformed (a model name too long to record) is the caller's to fix.
  const ask = async <A>(effect: Effect.Effect<A, unknown>): Promise<A | typeof DOWN | ProxyFailure> => {
    const exit = await run(effect)
    if (Exit.isSuccess(exit)) return exit.value
    const error = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
    if (error instanceof ValidationError) return fail(400, error.message, null)
    if (Cause.hasDies(exit.cause)) void run(Effect.logError("token proxy: store call died", exit.cause))
    return DOWN
  }

  const authenticate = async (req: http.IncomingMessage, dialect: Dialect): Promise<TenantIdentity | ProxyFailure> => {
    const key = keyOf(req)
    if (key === undefined) {
      return fail(
        401,
        dialect === "openai"
          ? "You didn't provide an API key. Send your clawfleet key in an Authorization header using Bearer auth."
          : "x-api-key header is required",
        "invalid_api_key"
      )
    }
    const identity = await ask(gate.authenticate(key))
    if (identity === DOWN) return UNAVAILABLE
    if (isFailure(identity)) return identity
    return identity ?? fail(401, "Incorrect API key provided, or the key was revoked.", "invalid_api_key")
  }

  const listModels = async (req: http.IncomingMessage, res: http.ServerResponse, requestId: string) => {
    const dialect: Dialect = req.headers["anthropic-version"] !== undefined ? "anthropic" : "openai"
    const identity = await authenticate(req, dialect)
    if (isFailure(identity)) return sendFailure(res, dialect, requestId, identity)
    const models = await ask(gate.grantedModels(identity))
    if (models === DOWN) return sendFailure(res, dialect, requestId, UNAVAILABLE)
    if (isFailure(models)) return sendFailure(res, dialect, requestId, models)
    const list = models
    const body =
      dialect === "openai"
        ? { object: "list", data: list.map((m) => ({ id: m.name, object: "model", created: 0, owned_by: m.upstream })) }
        : {
            data: list.map((m) => ({ type: "model", id: m.name, display_name: m.name, created_at: "1970-01-01T00:00:00Z" })),
            has_more: false,
            first_id: list[0]?.name ?? null,
            last_id: list.at(-1)?.name ?? null
          }
    const text = JSON.stringify(body)
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text), [REQUEST_ID_HEADER]: requestId })
    res.end(text)
  }

  const refusal = (admission: Extract<Admission, { _tag: "Refused" }>): ProxyFailure => {
    const { message, code } = REFUSALS[admission.reason]
    const status = admission.reason === "DuplicateRequest" ? 409 : 429
    return fail(status, message, code, {
      retryAfterSeconds: admission.retryAfterMs === undefined ? undefined : Math.max(1, Math.ceil(admission.retryAfterMs / 1000))
    })
  }

  const generate = async (req: http.IncomingMessage, res: http.ServerResponse, route: Route, requestId: string) => {
    const dialect = route.dialect
    const refuse = (failure: ProxyFailure) => sendFailure(res, dialect, requestId, failure)
    const identity = await authenticate(req, dialect)
    if (isFailure(identity)) return refuse(identity)

    const raw = await readBody(req, options.maxBodyBytes).catch(() => undefined)
    if (raw === undefined) return
    if (raw === "too-large") return refuse(fail(413, `The request body exceeds ${options.maxBodyBytes} bytes.`, "request_too_large"))
    let body: Record<string, unknown>
    try {
      body = JSON.parse(raw.toString("utf8"))
    } catch {
      return refuse(fail(400, "We could not parse the JSON body of your request.", "invalid_json"))
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return refuse(fail(400, "The request body must be a JSON object.", "invalid_json"))
    }
    const invalid = route.invalid(body)
    if (invalid !== undefined) return refuse(fail(400, invalid, null))
    if (typeof body.model !== "string" || body.model === "") return refuse(fail(400, "Missing required parameter: 'model'.", null))
    const modelName = body.model

    const model = await ask(gate.grantedModel(identity, modelName))
    if (model === DOWN) return refuse(UNAVAILABLE)
    if (isFailure(model)) return refuse(model)
    if (model === undefined) {
      void run(
        gate.audit({
          actor: `tenant:${identity.tenant}`,
          action: "model.deny",
          target: { kind: "model", id: modelName },
          requestId,
          decision: "not granted or not in the catalog"
        })
      )
      return refuse(fail(403, `The model \`${modelName}\` is not granted to this assistant.`, "model_not_allowed"))
    }
    const upstream = options.upstreams.get(model.upstream)
    if (upstream === undefined) {
      return refuse(fail(503, `No upstream named "${model.upstream}" is configured for model \`${modelName}\`.`, "unavailable"))
    }
    if (upstream.config.dialect !== dialect) {
      const other = dialect === "openai" ? "/v1/messages (Anthropic Messages API)" : "/v1/chat/completions or /v1/responses"
      return refuse(fail(400, `The model \`${modelName}\` is served through ${other}.`, null))
    }

    const maxOutput = Math.min(route.maxOutput(body) ?? options.defaultMaxOutputTokens, options.maxOutputTokens)
    route.prepare(body, maxOutput)
    const inputEstimate = options.estimateInputTokens(raw.length)
    const limits: MeteringLimits = limitsOf(identity, options.defaults)
    const held = { inputTokens: inputEstimate, outputTokens: maxOutput, micros: costMicros(model, inputEstimate, maxOutput) }
    const reservation: ReservationRequest = {
      requestId,
      tenant: identity.tenant,
      model: modelName,
      tokens: inputEstimate + maxOutput,
      micros: held.micros,
      limits
    }
    // Checked here, alone: in a batch a malformed request would fail the others with it.
    const malformed = reservationError(reservation)
    if (malformed) return refuse(fail(400, malformed.message, null))
    const admission = await ask(Effect.flatten(Effect.promise(() => reserveBatch(reservation))))
    if (admission === DOWN) return refuse(UNAVAILABLE)
    if (isFailure(admission)) return refuse(admission)
    if (admission._tag === "Refused") return refuse(refusal(admission))

    forward({
      req,
      res,
      route,
      upstream,
      body: Buffer.from(JSON.stringify(body)),
      streaming: route.streaming(body),
      requestId,
      warning: budgetWarning(limits, admission),
      held,
      price: (usage) => costMicros(model, usage.inputTokens, usage.outputTokens),
      close,
      log: (message) => void run(Effect.logWarning(`token proxy ${requestId}: ${message}`))
    })
  }

  return (req, res) => {
    const requestId = randomUUID()
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/"
    const route = generationRoutes[path]
    const onError = (error: unknown) => {
      void run(Effect.logError("token proxy: request failed", error))
      sendFailure(res, route?.dialect ?? "openai", requestId, fail(500, "The proxy failed to handle this request.", null))
    }
    if (route !== undefined) {
      if (req.method !== "POST") return sendFailure(res, route.dialect, requestId, fail(405, `${path} takes POST.`, null))
      generate(req, res, route, requestId).catch(onError)
    } else if (path === "/v1/models") {
      if (req.method !== "GET") return sendFailure(res, "openai", requestId, fail(405, "/v1/models takes GET.", null))
      listModels(req, res, requestId).catch(onError)
    } else {
      sendFailure(res, "openai", requestId, fail(404, `Unknown route ${req.method} ${path}.`, null))
    }
  }
}
