import * as http from "node:http"
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import { listen } from "../internal/listen.ts"
import { Metering } from "./Metering.ts"
import { TenantGate } from "./TenantGate.ts"
import type { Dialect } from "./token/dialect.ts"
import { makeHandler } from "./token/handler.ts"
import type { DefaultLimits } from "./token/pricing.ts"
import { makeUpstream, type Upstream, type UpstreamConfig } from "./token/upstream.ts"

export type { Dialect } from "./token/dialect.ts"
export { REQUEST_ID_HEADER } from "./token/dialect.ts"
export { BUDGET_WARNING_HEADER } from "./token/forward.ts"
export type { UpstreamConfig } from "./token/upstream.ts"

export interface TokenProxyOptions {
  /** The model providers, by the name catalog models give as `upstream`. */
  readonly upstreams: ReadonlyArray<UpstreamConfig>
  /** Default 127.0.0.1. */
  readonly host?: string | undefined
  /** Default 0: any free port. */
  readonly port?: number | undefined
  /** Default 8 MiB. */
  readonly maxBodyBytes?: number | undefined
  /** The output cap sent upstream when a request names none. Default 4,096. */
  readonly defaultMaxOutputTokens?: number | undefined
  /** No request may ask for more output than this; larger asks are lowered to it. Default 32,768. */
  readonly maxOutputTokens?: number | undefined
  /** Per-minute limits for tenants whose budget sets none. Default: none. */
  readonly defaultLimits?: DefaultLimits | undefined
  /**
   * Input tokens to hold for a body of this many bytes. Default: the byte count, which no
   * tokenizer exceeds for JSON text, so what is held covers what is billed.
   */
  readonly estimateInputTokens?: ((bodyBytes: number) => number) | undefined
  /** Upstream time limit per request. Default 10 minutes. */
  readonly upstreamTimeoutMs?: number | undefined
  /** Reservations older than this are released as abandoned (a replica died mid-request). Default 1 hour. */
  readonly reservationTtlMs?: number | undefined
}

const positive = (name: string, value: number | undefined, fallback: number) => {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`TokenProxy: ${name} must be a positive integer, got ${value}`)
  return v
}

const upstreamsOf = (options: TokenProxyOptions, timeoutMs: number): ReadonlyMap<string, Upstream> => {
  const map = new Map<string, Upstream>()
  for (const config of options.upstreams) {
    if (map.has(config.name)) throw new Error(`TokenProxy: upstream "${config.name}" is configured twice`)
    map.set(config.name, makeUpstream(config, timeoutMs))
  }
  return map
}

/**
 * The LLM token proxy: OpenAI-compatible `POST /v1/chat/completions`, `POST /v1/responses`,
 * `GET /v1/models` and Anthropic-compatible `POST /v1/messages`, streamed or not, forwarded to
 * upstreams whose keys never leave the server. Each request is authenticated by a tenant's virtual
 * key, checked against the owner's model grants, and metered: the most it can cost is reserved
 * before it goes upstream and swapped for what it used after (see `Metering`).
 */
export class TokenProxy extends Context.Service<
  TokenProxy,
  {
    /** `http://host:port`; OpenAI clients take `${url}/v1` as their base URL. */
    readonly url: string
    readonly port: number
  }
>()("@clawfleet/core/TokenProxy") {
  /** The request listener alone, to mount on a server of your own. */
  static handler(options: TokenProxyOptions): Effect.Effect<http.RequestListener, never, TenantGate | Metering> {
    return Effect.gen(function* () {
      const context = yield* Effect.context<TenantGate | Metering>()
      const run = Effect.runPromiseExitWith(context)
      const timeoutMs = positive("upstreamTimeoutMs", options.upstreamTimeoutMs, 600_000)
      return makeHandler(
        { gate: Context.get(context, TenantGate), metering: Context.get(context, Metering), run },
        {
          upstreams: upstreamsOf(options, timeoutMs),
          maxBodyBytes: positive("maxBodyBytes", options.maxBodyBytes, 8 * 1024 * 1024),
          defaultMaxOutputTokens: positive("defaultMaxOutputTokens", options.defaultMaxOutputTokens, 4096),
          maxOutputTokens: positive("maxOutputTokens", options.maxOutputTokens, 32_768),
          defaults: options.defaultLimits ?? {},
          estimateInputTokens: options.estimateInputTokens ?? ((bytes) => bytes)
        }
      )
    })
  }

  /** Listens on `host:port`; closing the scope closes the server and every open stream. */
  static layer(options: TokenProxyOptions): Layer.Layer<TokenProxy, never, TenantGate | Metering> {
    return Layer.effect(
      TokenProxy,
      Effect.gen(function* () {
        const handler = yield* TokenProxy.handler(options)
        const metering = yield* Metering
        const ttl = positive("reservationTtlMs", options.reservationTtlMs, 3_600_000)
        yield* metering.releaseExpired(ttl).pipe(
          Effect.catch((e) => Effect.logWarning("token proxy: could not release expired reservations", e)),
          Effect.repeat(Schedule.spaced(Duration.minutes(1))),
          Effect.forkScoped
        )
        const { origin, port } = yield* listen(http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, handler), options)
        return TokenProxy.of({ url: origin, port })
      })
    )
  }
}

/** Which dialect a path speaks, for callers building on the handler. */
export const dialectOf = (path: string): Dialect => (path === "/v1/messages" ? "anthropic" : "openai")
