import type { Dialect } from "./dialect.ts"

type Json = Record<string, unknown>

/**
 * A generation endpoint as the proxy needs to know it: where the model and the output cap are,
 * and how to make the upstream report usage. Everything else in the body passes through untouched.
 */
export interface Route {
  readonly dialect: Dialect
  /** The path below the upstream's base URL. */
  readonly upstreamPath: string
  readonly streaming: (body: Json) => boolean
  /** The output cap the caller asked for, if any. */
  readonly maxOutput: (body: Json) => number | undefined
  /** Writes the cap the proxy enforces and asks for usage in streams; returns whether it changed the body. */
  readonly prepare: (body: Json, maxOutput: number) => void
  /** A reason to refuse the body before it costs anything, in the dialect's words. */
  readonly invalid: (body: Json) => string | undefined
}

const positiveInt = (u: unknown) => (typeof u === "number" && Number.isSafeInteger(u) && u > 0 ? u : undefined)

export const chatCompletions: Route = {
  dialect: "openai",
  upstreamPath: "/chat/completions",
  streaming: (body) => body.stream === true,
  maxOutput: (body) => positiveInt(body.max_completion_tokens) ?? positiveInt(body.max_tokens),
  prepare: (body, max) => {
    // Keep the field the caller used: older OpenAI-compatible servers know only max_tokens, and
    // reasoning models refuse it.
    if (body.max_tokens !== undefined && body.max_completion_tokens === undefined) body.max_tokens = max
    else body.max_completion_tokens = max
    if (body.stream === true) {
      const options = typeof body.stream_options === "object" && body.stream_options !== null ? body.stream_options : {}
      body.stream_options = { ...options, include_usage: true }
    }
  },
  invalid: (body) => (Array.isArray(body.messages) ? undefined : "Missing required parameter: 'messages'.")
}

export const responses: Route = {
  dialect: "openai",
  upstreamPath: "/responses",
  streaming: (body) => body.stream === true,
  maxOutput: (body) => positiveInt(body.max_output_tokens),
  prepare: (body, max) => {
    body.max_output_tokens = max
  },
  invalid: (body) => (body.input === undefined ? "Missing required parameter: 'input'." : undefined)
}

export const messages: Route = {
  dialect: "anthropic",
  upstreamPath: "/messages",
  streaming: (body) => body.stream === true,
  maxOutput: (body) => positiveInt(body.max_tokens),
  prepare: (body, max) => {
    body.max_tokens = max
  },
  invalid: (body) =>
    !Array.isArray(body.messages)
      ? "messages: Field required"
      : positiveInt(body.max_tokens) === undefined
        ? "max_tokens: Field required (a positive integer)"
        : undefined
}

export const generationRoutes: Readonly<Record<string, Route>> = {
  "/v1/chat/completions": chatCompletions,
  "/v1/responses": responses,
  "/v1/messages": messages
}
