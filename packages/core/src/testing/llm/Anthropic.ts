import type { Completion, Dialect, GenerationRoute } from "./Dialect.ts"
import type { SseEvent } from "./Sse.ts"

/** The Anthropic side of the fake: the Messages API. */

const ANTHROPIC_TYPES: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  503: "overloaded_error",
  529: "overloaded_error"
}

let errors = 0

export const anthropic: Dialect = {
  name: "anthropic",
  requestIdHeader: "request-id",
  apiKey: (headers) => headers["x-api-key"],
  error: (status, message) => ({
    type: "error",
    error: { type: ANTHROPIC_TYPES[status] ?? "api_error", message },
    request_id: `req_fake${++errors}`
  }),
  messages: {
    missingKey: "x-api-key header is required",
    invalidKey: "invalid x-api-key",
    invalidJson: "There was an error parsing the body of your request.",
    unknownModel: (model) => `model: ${model}`,
    failure: (status) =>
      status === 429 ? "Number of requests has exceeded your rate limit." : status === 503 ? "Overloaded" : "Internal server error"
  }
}

const usage = (c: Completion, outputTokens: number) => ({
  input_tokens: c.usage.promptTokens,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  output_tokens: outputTokens
})

const message = (c: Completion, done: boolean) => ({
  id: c.id,
  type: "message",
  role: "assistant",
  model: c.model,
  content: done ? [{ type: "text", text: c.text }] : [],
  stop_reason: done ? "end_turn" : null,
  stop_sequence: null,
  // The opening event of a stream reports one output token, as the real API does; message_delta has the total.
  usage: usage(c, done ? c.usage.completionTokens : 1)
})

const event = (type: string, data: Record<string, unknown> = {}): SseEvent => ({ event: type, data: { type, ...data } })

export const messages: GenerationRoute = {
  dialect: anthropic,
  invalid: (body) =>
    typeof body.max_tokens !== "number"
      ? "max_tokens: Field required"
      : Array.isArray(body.messages)
        ? undefined
        : "messages: Field required",
  streaming: (body) => body.stream === true,
  reply: (_body, c) => message(c, true),
  events: (_body, c) => [
    event("message_start", { message: message(c, false) }),
    event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
    event("ping"),
    ...c.chunks.map((text) => ({ ...event("content_block_delta", { index: 0, delta: { type: "text_delta", text } }), text: true })),
    event("content_block_stop", { index: 0 }),
    event("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: c.usage.completionTokens } }),
    event("message_stop")
  ]
}
