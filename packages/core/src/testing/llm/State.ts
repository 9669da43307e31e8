/** What the fake has been told to do, and what it has seen. */

/** One request as the fake received it. */
export interface FakeLlmRequest {
  readonly method: string
  /** The URL path without its query string, e.g. `/v1/chat/completions`. */
  readonly path: string
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>
  /** The parsed JSON body; `undefined` when there was none, the raw text when it was not JSON. */
  readonly body: unknown
}

/** Token counts a reply reports; the reply text has exactly `completionTokens` chunks (one word each). */
export interface FakeLlmUsage {
  readonly promptTokens: number
  readonly completionTokens: number
}

export type FakeLlmUsageSource = FakeLlmUsage | ((request: FakeLlmRequest) => FakeLlmUsage)

export interface FakeLlmFailure {
  readonly status: 429 | 500 | 503
  /** Sent as the `Retry-After` header. */
  readonly retryAfterSeconds?: number
  /** Replaces the dialect's usual message. */
  readonly message?: string
}

export interface FakeLlmDrop {
  /** Text chunks sent before the connection is destroyed (0: only the opening events). */
  readonly afterChunks: number
}

export interface StateDefaults {
  readonly latencyMs: number
  readonly chunkDelayMs: number
  readonly usage: FakeLlmUsageSource
  readonly apiKey: string | undefined
}

const count = (n: number, what: string) => {
  if (!Number.isInteger(n) || n < 0) throw new Error(`FakeLlm: ${what} must be a non-negative integer, got ${n}`)
  return n
}

export class State {
  latencyMs = 0
  chunkDelayMs = 0
  usage: FakeLlmUsageSource = { promptTokens: 0, completionTokens: 0 }
  apiKey: string | undefined = undefined
  readonly log: Array<FakeLlmRequest> = []
  private failures: Array<FakeLlmFailure> = []
  private drops: Array<FakeLlmDrop> = []

  private readonly defaults: StateDefaults

  constructor(defaults: StateDefaults) {
    this.defaults = defaults
    this.reset()
  }

  reset(): void {
    this.latencyMs = this.defaults.latencyMs
    this.chunkDelayMs = this.defaults.chunkDelayMs
    this.usage = this.defaults.usage
    this.apiKey = this.defaults.apiKey
    this.log.length = 0
    this.failures = []
    this.drops = []
  }

  failNext(n: number, failure: FakeLlmFailure): void {
    for (let i = 0; i < count(n, "count"); i++) this.failures.push(failure)
  }

  dropNext(n: number, drop: FakeLlmDrop): void {
    count(drop.afterChunks, "afterChunks")
    for (let i = 0; i < count(n, "count"); i++) this.drops.push(drop)
  }

  takeFailure(): FakeLlmFailure | undefined {
    return this.failures.shift()
  }

  takeDrop(): FakeLlmDrop | undefined {
    return this.drops.shift()
  }

  usageFor(request: FakeLlmRequest): FakeLlmUsage {
    const usage = typeof this.usage === "function" ? this.usage(request) : this.usage
    return {
      promptTokens: count(usage.promptTokens, "promptTokens"),
      completionTokens: count(usage.completionTokens, "completionTokens")
    }
  }
}

export const setDelay = (ms: number, what: string): number => {
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`FakeLlm: ${what} must be a non-negative number of milliseconds, got ${ms}`)
  return ms
}
