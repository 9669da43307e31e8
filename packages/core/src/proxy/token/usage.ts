import { StringDecoder } from "node:string_decoder"

/**
 * Reads what a reply says it used, as the bytes pass through: the proxy never buffers a stream,
 * it only looks at the few events that carry usage. Counts are taken as the upstream reports them.
 */

export interface TokenCounts {
  readonly inputTokens: number
  readonly outputTokens: number
}

// A count no reply can reach caps what an upstream's nonsense could do to a budget.
const MAX_COUNT = 1e12
const count = (u: unknown) => (typeof u === "number" && Number.isFinite(u) && u >= 0 ? Math.min(Math.ceil(u), MAX_COUNT) : 0)
const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

/** Usage from a whole JSON reply or one streamed event, in any of the shapes the routes produce. */
export const usageOf = (value: unknown): Partial<TokenCounts> | undefined => {
  if (!isObject(value)) return undefined
  // Responses API events wrap the response; Anthropic's message_start wraps the message.
  const holder = isObject(value.response) ? value.response : isObject(value.message) ? value.message : value
  const usage = holder.usage
  if (!isObject(usage)) return undefined
  if ("prompt_tokens" in usage || "completion_tokens" in usage) {
    return { inputTokens: count(usage.prompt_tokens), outputTokens: count(usage.completion_tokens) }
  }
  const out: { inputTokens?: number; outputTokens?: number } = {}
  if ("input_tokens" in usage) {
    // Anthropic counts cache reads and writes apart from input_tokens; all of them are billed.
    out.inputTokens = count(usage.input_tokens) + count(usage.cache_creation_input_tokens) + count(usage.cache_read_input_tokens)
  }
  if ("output_tokens" in usage) out.outputTokens = count(usage.output_tokens)
  return out
}

// Only these events can carry counts; a cheap test spares parsing every text delta.
const MAY_CARRY_USAGE = /"usage"\s*:\s*\{/

/**
 * Follows a reply: `push` every chunk, then `result` says what it used (undefined when it never
 * said) and whether it reached its normal end.
 */
export class UsageMeter {
  private readonly streaming: boolean
  private pending = ""
  // A character split across two chunks must not garble the event it belongs to.
  private readonly decoder = new StringDecoder("utf8")
  private readonly whole: Array<Buffer> = []
  private input: number | undefined
  private output: number | undefined
  private finished = false

  constructor(streaming: boolean) {
    this.streaming = streaming
  }

  push(chunk: Buffer): void {
    if (!this.streaming) {
      this.whole.push(chunk)
      return
    }
    // Upstreams may end lines with CRLF; events are then split on a blank line either way.
    this.pending += this.decoder.write(chunk).replace(/\r/g, "")
    let end = this.pending.indexOf("\n\n")
    while (end !== -1) {
      this.event(this.pending.slice(0, end))
      this.pending = this.pending.slice(end + 2)
      end = this.pending.indexOf("\n\n")
    }
  }

  private event(block: string): void {
    for (const line of block.split("\n")) {
      if (!line.startsWith("data:")) continue
      const data = line.slice(5).trim()
      if (data === "[DONE]") {
        this.finished = true
        continue
      }
      if (/"type"\s*:\s*"(message_stop|response\.completed|response\.incomplete)"/.test(data)) this.finished = true
      if (MAY_CARRY_USAGE.test(data)) this.take(data)
    }
  }

  private take(text: string): void {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      return
    }
    const usage = usageOf(parsed)
    if (usage?.inputTokens !== undefined) this.input = usage.inputTokens
    // Anthropic repeats the cumulative output count in message_delta: the last one wins.
    if (usage?.outputTokens !== undefined) this.output = usage.outputTokens
  }

  /** Call when the reply ended normally. */
  end(): void {
    if (this.streaming) {
      if (this.pending.trim() !== "") this.event(this.pending)
      return
    }
    this.finished = true
    this.take(Buffer.concat(this.whole).toString("utf8"))
  }

  get complete(): boolean {
    return this.finished
  }

  get usage(): TokenCounts | undefined {
    return this.input === undefined && this.output === undefined
      ? undefined
      : { inputTokens: this.input ?? 0, outputTokens: this.output ?? 0 }
  }
}
