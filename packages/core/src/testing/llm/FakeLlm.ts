import * as http from "node:http"
import { Context, Effect, Layer } from "effect"
import { listen } from "../../internal/listen.ts"
import { handler } from "./Server.ts"
import { type FakeLlmDrop, type FakeLlmFailure, type FakeLlmRequest, type FakeLlmUsageSource, State, setDelay } from "./State.ts"

export type { FakeLlmDrop, FakeLlmFailure, FakeLlmRequest, FakeLlmUsage, FakeLlmUsageSource } from "./State.ts"

export interface FakeLlmOptions {
  /** Model ids served by `/v1/models` and accepted by the generation routes (default `["gpt-4.1", "claude-sonnet-4-5"]`). */
  readonly models?: ReadonlyArray<string>
  /** Delay before the first byte of every response, in milliseconds (default 0). */
  readonly latencyMs?: number
  /** Delay between the events of a stream, in milliseconds (default 0). */
  readonly chunkDelayMs?: number
  /** Token counts every reply reports (default `{ promptTokens: 10, completionTokens: 5 }`). */
  readonly usage?: FakeLlmUsageSource
  /** The only API key accepted (default: any key, or none). */
  readonly apiKey?: string
}

export const DEFAULT_MODELS: ReadonlyArray<string> = ["gpt-4.1", "claude-sonnet-4-5"]

/**
 * A fake upstream LLM on loopback HTTP for tests: the OpenAI chat completions, responses and models
 * endpoints under `/v1`, and the Anthropic Messages API at `/v1/messages`, streaming or not, with
 * controllable usage, latency, failures and dropped connections.
 */
export class FakeLlm extends Context.Service<
  FakeLlm,
  {
    /** `http://127.0.0.1:<port>`; OpenAI clients take `${url}/v1` as their base URL, Anthropic clients `url`. */
    readonly url: string
    /** Every request received so far, in arrival order, including those that failed. */
    readonly requests: () => ReadonlyArray<FakeLlmRequest>
    readonly resetRequests: () => void
    /** Back to the layer's options: clears the request log, pending failures and drops. */
    readonly reset: () => void
    /** Delay before the first byte of every response. */
    readonly setLatency: (ms: number) => void
    /** Delay between the events of a stream. */
    readonly setChunkDelay: (ms: number) => void
    /** The token counts replies report, fixed or per request; the reply text has `completionTokens` chunks. */
    readonly setUsage: (usage: FakeLlmUsageSource) => void
    /** The next `count` requests to a known route are answered with `failure.status`, as an error in the route's dialect. */
    readonly failNext: (count: number, failure: FakeLlmFailure) => void
    /**
     * The next `count` generation requests lose their connection: a stream after `afterChunks` text
     * chunks (before its closing events when it has fewer), a plain reply halfway through its body.
     */
    readonly dropNext: (count: number, drop: FakeLlmDrop) => void
    /** Accept only `key` (`Authorization: Bearer` on OpenAI routes, `x-api-key` on Anthropic), or any with `undefined`. */
    readonly requireKey: (key: string | undefined) => void
  }
>()("@clawfleet/core/testing/FakeLlm") {
  /** Starts the server on 127.0.0.1 and a free port; closing the scope closes it and every connection. */
  static layer(options: FakeLlmOptions = {}): Layer.Layer<FakeLlm> {
    return Layer.effect(FakeLlm, make(options))
  }
}

const make = (options: FakeLlmOptions) =>
  Effect.gen(function* () {
    const state = new State({
      latencyMs: setDelay(options.latencyMs ?? 0, "latencyMs"),
      chunkDelayMs: setDelay(options.chunkDelayMs ?? 0, "chunkDelayMs"),
      usage: options.usage ?? { promptTokens: 10, completionTokens: 5 },
      apiKey: options.apiKey
    })
    const closing = new AbortController()
    const { origin } = yield* listen(
      http.createServer(handler({ state, models: options.models ?? DEFAULT_MODELS, signal: closing.signal })),
      {},
      () => closing.abort()
    )
    return FakeLlm.of({
      url: origin,
      requests: () => [...state.log],
      resetRequests: () => {
        state.log.length = 0
      },
      reset: () => state.reset(),
      setLatency: (ms) => {
        state.latencyMs = setDelay(ms, "latency")
      },
      setChunkDelay: (ms) => {
        state.chunkDelayMs = setDelay(ms, "chunk delay")
      },
      setUsage: (usage) => {
        state.usage = usage
      },
      failNext: (count, failure) => state.failNext(count, failure),
      dropNext: (count, drop) => state.dropNext(count, drop),
      requireKey: (key) => {
        state.apiKey = key
      }
    })
  })
