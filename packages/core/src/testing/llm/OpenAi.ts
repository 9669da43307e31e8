import type { Completion, Dialect, GenerationRoute, JsonObject } from "./Dialect.ts"
import type { SseEvent } from "./Sse.ts"

/** The OpenAI side of the fake: models, chat completions and responses. */

const OPENAI_TYPES: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "invalid_request_error",
  404: "invalid_request_error",
  429: "requests"
}

export const openAi: Dialect = {
  name: "openai",
  requestIdHeader: "x-request-id",
  apiKey: (headers) => /^Bearer\s+(.+)$/i.exec(headers.authorization ?? "")?.[1]?.trim(),
  error: (status, message, code = null) => ({
    error: {
      message,
      type: OPENAI_TYPES[status] ?? "server_error",
      param: null,
      code: code ?? (status === 429 ? "rate_limit_exceeded" : null)
    }
  }),
  messages: {
    missingKey: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth.",
    invalidKey: "Incorrect API key provided.",
    invalidJson: "We could not parse the JSON body of your request.",
    unknownModel: (model) => `The model \`${model}\` does not exist or you do not have access to it.`,
    failure: (status) =>
      status === 429
        ? "Rate limit reached for requests. Please try again later."
        : status === 503
          ? "The engine is currently overloaded, please try again later."
          : "The server had an error while processing your request. Sorry about that!"
  }
}

export const modelList = (models: ReadonlyArray<string>, created: number) => ({
  object: "list",
  data: models.map((id) => ({ id, object: "model", created, owned_by: id.startsWith("claude") ? "anthropic" : "openai" }))
})

const chatUsage = (c: Completion) => ({
  prompt_tokens: c.usage.promptTokens,
  completion_tokens: c.usage.completionTokens,
  total_tokens: c.usage.promptTokens + c.usage.completionTokens,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 }
})

const includeUsage = (body: JsonObject) => {
  const options = body.stream_options
  return typeof options === "object" && options !== null && (options as JsonObject).include_usage === true
}

export const chatCompletions: GenerationRoute = {
  dialect: openAi,
  invalid: (body) => (Array.isArray(body.messages) ? undefined : "Missing required parameter: 'messages'."),
  streaming: (body) => body.stream === true,
  reply: (_body, c) => ({
    id: c.id,
    object: "chat.completion",
    created: c.created,
    model: c.model,
    choices: [
      { index: 0, message: { role: "assistant", content: c.text, refusal: null, annotations: [] }, logprobs: null, finish_reason: "stop" }
    ],
    usage: chatUsage(c),
    service_tier: "default",
    system_fingerprint: "fp_fake"
  }),
  events: (body, c) => {
    const withUsage = includeUsage(body)
    // With include_usage every chunk carries `usage: null` and a last one with no choices carries the counts.
    const chunk = (choices: ReadonlyArray<unknown>, usage: unknown = null): SseEvent => ({
      data: {
        id: c.id,
        object: "chat.completion.chunk",
        created: c.created,
        model: c.model,
        service_tier: "default",
        system_fingerprint: "fp_fake",
        choices,
        ...(withUsage ? { usage } : {})
      }
    })
    const choice = (delta: unknown, finish: string | null = null) => ({ index: 0, delta, logprobs: null, finish_reason: finish })
    return [
      chunk([choice({ role: "assistant", content: "", refusal: null })]),
      ...c.chunks.map((content) => ({ ...chunk([choice({ content })]), text: true })),
      chunk([choice({}, "stop")]),
      ...(withUsage ? [chunk([], chatUsage(c))] : []),
      { data: "[DONE]" }
    ]
  }
}

const responseUsage = (c: Completion) => ({
  input_tokens: c.usage.promptTokens,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: c.usage.completionTokens,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: c.usage.promptTokens + c.usage.completionTokens
})

const messageId = (c: Completion) => `msg_${c.id.slice("resp_".length)}`

const outputText = (text: string) => ({ type: "output_text", text, annotations: [] })

const outputMessage = (c: Completion, status: "in_progress" | "completed") => ({
  id: messageId(c),
  type: "message",
  status,
  role: "assistant",
  content: status === "completed" ? [outputText(c.text)] : []
})

const response = (body: JsonObject, c: Completion, done: boolean) => ({
  id: c.id,
  object: "response",
  created_at: c.created,
  status: done ? "completed" : "in_progress",
  error: null,
  incomplete_details: null,
  instructions: body.instructions ?? null,
  model: c.model,
  output: done ? [outputMessage(c, "completed")] : [],
  parallel_tool_calls: true,
  previous_response_id: body.previous_response_id ?? null,
  store: body.store ?? true,
  temperature: body.temperature ?? 1,
  text: { format: { type: "text" } },
  tool_choice: "auto",
  tools: [],
  top_p: body.top_p ?? 1,
  usage: done ? responseUsage(c) : null,
  metadata: {}
})

export const responses: GenerationRoute = {
  dialect: openAi,
  invalid: (body) => (body.input === undefined ? "Missing required parameter: 'input'." : undefined),
  streaming: (body) => body.stream === true,
  reply: (body, c) => response(body, c, true),
  events: (body, c) => {
    const part = { item_id: messageId(c), output_index: 0, content_index: 0 }
    const plain: Array<Record<string, unknown> & { readonly type: string }> = [
      { type: "response.created", response: response(body, c, false) },
      { type: "response.in_progress", response: response(body, c, false) },
      { type: "response.output_item.added", output_index: 0, item: outputMessage(c, "in_progress") },
      { type: "response.content_part.added", ...part, part: outputText("") },
      ...c.chunks.map((delta) => ({ type: "response.output_text.delta", ...part, delta, logprobs: [] })),
      { type: "response.output_text.done", ...part, text: c.text, logprobs: [] },
      { type: "response.content_part.done", ...part, part: outputText(c.text) },
      { type: "response.output_item.done", output_index: 0, item: outputMessage(c, "completed") },
      { type: "response.completed", response: response(body, c, true) }
    ]
    return plain.map((data, sequence_number) => ({
      event: data.type,
      data: { ...data, sequence_number },
      ...(data.type === "response.output_text.delta" ? { text: true } : {})
    }))
  }
}
