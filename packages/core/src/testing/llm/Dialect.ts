import type { SseEvent } from "./Sse.ts"
import type { FakeLlmUsage } from "./State.ts"

/** What the OpenAI and Anthropic sides of the fake have in common. */

export type JsonObject = Readonly<Record<string, unknown>>

export interface Dialect {
  readonly name: "openai" | "anthropic"
  /** The response header that carries a request id. */
  readonly requestIdHeader: string
  /** The API key a request presents, or `undefined`. */
  readonly apiKey: (headers: Readonly<Record<string, string>>) => string | undefined
  /** The error body for `status`; `code` is the OpenAI `error.code` (Anthropic has none). */
  readonly error: (status: number, message: string, code?: string | null) => unknown
  readonly messages: {
    readonly missingKey: string
    readonly invalidKey: string
    readonly invalidJson: string
    readonly unknownModel: (model: string) => string
    readonly failure: (status: number) => string
  }
}

/** One reply, the same in every dialect: its text split in chunks, and the usage reported. */
export interface Completion {
  readonly id: string
  readonly model: string
  /** Unix seconds. */
  readonly created: number
  readonly chunks: ReadonlyArray<string>
  readonly text: string
  readonly usage: FakeLlmUsage
}

/** A generation endpoint: checks a body and renders a completion whole or as events. */
export interface GenerationRoute {
  readonly dialect: Dialect
  /** A message for a 400 when the body lacks what the real API requires. */
  readonly invalid: (body: JsonObject) => string | undefined
  readonly streaming: (body: JsonObject) => boolean
  readonly reply: (body: JsonObject, completion: Completion) => unknown
  readonly events: (body: JsonObject, completion: Completion) => ReadonlyArray<SseEvent>
}

const WORDS = ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "again", "and", "then", "rests"]

/** `n` words, each chunk after the first led by a space, so that the chunks join into the text. */
export const textChunks = (n: number): ReadonlyArray<string> =>
  Array.from({ length: n }, (_, i) => `${i === 0 ? "" : " "}${WORDS[i % WORDS.length] ?? "word"}`)

export const isObject = (u: unknown): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)
