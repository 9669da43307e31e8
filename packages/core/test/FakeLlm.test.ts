import { FakeLlm, type FakeLlmOptions } from "@clawfleet/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

// Runs `body` against a fresh server, closed when the test ends.
const withFake = <A, E>(body: (fake: FakeLlm["Service"]) => Effect.Effect<A, E>, options?: FakeLlmOptions) =>
  Effect.gen(function* () {
    return yield* body(yield* FakeLlm)
  }).pipe(Effect.provide(FakeLlm.layer(options)))

const call = <A>(f: () => Promise<A>) => Effect.promise(f)

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

interface Sse {
  readonly event: string | undefined
  readonly data: string
}

// A small SSE parser written against the spec, independent of the fake's encoder.
const parseSse = (text: string): Array<Sse> =>
  text
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== "")
    .map((block) => {
      let event: string | undefined
      const data: Array<string> = []
      for (const line of block.split(/\r?\n/)) {
        const colon = line.indexOf(":")
        const field = colon === -1 ? line : line.slice(0, colon)
        const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "")
        if (field === "event") event = value
        else if (field === "data") data.push(value)
      }
      return { event, data: data.join("\n") }
    })

const json = (e: Sse): any => JSON.parse(e.data)

/** Reads a body to its end or its failure, keeping what arrived before a failure. */
const readAll = async (res: Response): Promise<{ readonly text: string; readonly error: unknown }> => {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = ""
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return { text, error: undefined }
      text += decoder.decode(value, { stream: true })
    }
  } catch (error) {
    return { text, error }
  }
}

const chat = (extra: Record<string, unknown> = {}) => ({ model: "gpt-4.1", messages: [{ role: "user", content: "Hi" }], ...extra })
const claude = (extra: Record<string, unknown> = {}) => ({
  model: "claude-sonnet-4-5",
  max_tokens: 100,
  messages: [{ role: "user", content: "Hi" }],
  ...extra
})
const words = (text: string) => text.split(" ").filter((w) => w !== "").length

describe("FakeLlm: OpenAI", () => {
  it.live("lists the configured models", () =>
    withFake(
      (fake) =>
        Effect.gen(function* () {
          const res = yield* call(() => fetch(`${fake.url}/v1/models`))
          assert.strictEqual(res.status, 200)
          const body: any = yield* call(() => res.json())
          assert.strictEqual(body.object, "list")
          assert.deepStrictEqual(
            body.data.map((m: any) => [m.id, m.object, typeof m.created, typeof m.owned_by]),
            [
              ["a-model", "model", "number", "string"],
              ["b-model", "model", "number", "string"]
            ]
          )
        }),
      { models: ["a-model", "b-model"] }
    )
  )

  it.live("answers a chat completion with the configured usage and as many words as completion tokens", () =>
    withFake((fake) =>
      Effect.gen(function* () {
        fake.setUsage({ promptTokens: 21, completionTokens: 7 })
        const res = yield* call(() => post(`${fake.url}/v1/chat/completions`, chat()))
        assert.strictEqual(res.status, 200)
        assert.match(res.headers.get("content-type") ?? "", /application\/json/)
        const body: any = yield* call(() => res.json())
        assert.strictEqual(body.object, "chat.completion")
        assert.strictEqual(body.model, "gpt-4.1")
        assert.strictEqual(body.choices[0].message.role, "assistant")
        assert.strictEqual(body.choices[0].finish_reason, "stop")
        assert.strictEqual(words(body.choices[0].message.content), 7)
        assert.deepInclude(body.usage, { prompt_tokens: 21, completion_tokens: 7, total_tokens: 28 })
      })
    )
  )

  it.live("streams chat chunks without usage unless include_usage is set", () =>
    withFake((fake) =>
      Effect.gen(function* () {
        fake.setUsage({ promptTokens: 3, completionTokens: 4 })
        const res = yield* call(() => post(`${fake.url}/v1/chat/completions`, chat({ stream: true })))
        assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/)
        const events = parseSse(yield* call(() => res.text()))
        assert.strictEqual(events.at(-1)?.data, "[DONE]")
        const chunks = events.slice(0, -1).map(json)
        assert.isTrue(chunks.every((c) => c.object === "chat.completion.chunk" && !("usage" in c) && c.choices.length === 1))
        const contents = chunks.map((c) => c.choices[0].delta.content).filter((c) => typeof c === "string" && c !== "")
        assert.strictEqual(contents.length, 4)
        assert.strictEqual(words(contents.join("")), 4)
        assert.strictEqual(chunks[0].choices[0].delta.role, "assistant")
        assert.strictEqual(chunks.at(-1).choices[0].finish_reason, "stop")
      })
    )
  )

  it.live("streams usage in a last chunk with no choices when include_usage is set", () =>
    withFake((fake) =>
      Effect.gen(function* () {
        fake.setUsage({ promptTokens: 11, completionTokens: 6 })
        const res = yield* call(() =>
          post(`${fake.url}/v1/chat/completions`, chat({ stream: true, stream_options: { include_usage: true } }))
        )
        const events = parseSse(yield* call(() => res.text()))
        assert.strictEqual(events.at(-1)?.data, "[DONE]")
        const chunks = events.slice(0, -1).map(json)
        const last = chunks.at(-1)
        assert.deepStrictEqual(last.choices, [])
        assert.deepInclude(last.usage, { prompt_tokens: 11, completion_tokens: 6, total_tokens: 17 })
        assert.isTrue(chunks.slice(0, -1).every((c) => c.usage === null && c.choices.length === 1))
        assert.strictEqual(chunks.filter((c) => c.choices[0]?.delta.content).length, 6)
      })
    )
  )

  it.live("answers the Responses API whole", () =>
    withFake((fake) =>
      Effect.gen(function* () {
        fake.setUsage({ promptTokens: 8, completionTokens: 5 })
        const res = yield* call(() => post(`${fake.url}/v1/responses`, { model: "gpt-4.1", input: "Hi" }))
        const body: any = yield* call(() => res.json())
        assert.strictEqual(body.object, "response")
        assert.strictEqual(body.status, "completed")
        assert.strictEqual(body.output[0].type, "message")
        assert.strictEqual(body.output[0].content[0].type, "output_text")
        assert.strictEqual(words(body.output[0].content[0].text), 5)
        assert.deepInclude(body.usage, { input_tokens: 8, output_tokens: 5, total_tokens: 13 })
      })
    )
  )

  it.live("streams the Responses API as named events with usage on response.completed", () =>
    withFake((fake) =>
      Effect.gen(function* () {
        fake.setUsage({ promptTokens: 2, completionTokens: 3 })
        const res = yield* call(() => post(`${fake.url}/v1/responses`, { model: "gpt-4.1", input: "Hi", stream: true }))
        const events = parseSse(yield* call(() => res.text()))
        assert.deepStrictEqual(
          events.map((e) => e.event),
          [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed"
          ]
        )
        const data = events.map(json)
        assert.isTrue(data.every((d, i) => d.type === events[i]?.event && d.sequence_number === i))
        assert.isNull(data[0].response.usage)
        const deltas = data.filter((d) => d.type === "response.output_text.delta").map((d) => d.delta)
        const completed = data.at(-1).response
        assert.strictEqual(completed.status, "completed")
        assert.strictEqual(completed.output[0].content[0].text, deltas.join(""))
        assert.deepInclude(completed.usage, { input_tokens: 2, output_tokens: 3, total_tokens: 5 })
      })
    )
  )
})

describe("FakeLlm: Anthropic", () => {
  it.live("answers a message whole", () =>
    withFake((fake) =>
      Effect.gen(function* () {
        fake.setUsage({ promptTokens: 9, completionTokens: 4 })
        const res = yield* call(() => post(`${fake.url}/v1/messages`, claude()))
        assert.strictEqual(res.status, 200)
        const body: any = yield* call(() => res.json())
        assert.strictEqual(body.type, "message")
        assert.strictEqual(body.role, "assistant")
        assert.strictEqual(body.stop_reason, "end_turn")
        assert.strictEqual(body.content[0].type, "text")
        assert.strictEqual(words(body.content[0].text), 4)
        assert.deepInclude(body.usage, { input_tokens: 9, output_tokens: 4 })
      })
    )
  )

  it.live("streams message events with input tokens first and output tokens in message_delta", () =>
    withFake((fake) =>
      Effect.gen(function* () {
        fake.setUsage({ promptTokens: 13, completionTokens: 5 })
        const res = yield* call(() => post(`${fake.url}/v1/messages`, claude({ stream: true })))
        assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/)
        const events = parseSse(yield* call(() => res.text()))
        const names = events.map((e) => e.event).filter((n) => n !== "ping")
        assert.deepStrictEqual(names, [
          "message_start",
          "content_block_start",
          ...Array<string>(5).fill("content_block_delta"),
          "content_block_stop",
          "message_delta",
          "message_stop"
        ])
        const data = events.map(json)
        assert.isTrue(data.every((d, i) => d.type === events[i]?.event))
        assert.strictEqual(data[0].message.usage.input_tokens, 13)
        const deltas = data.filter((d) => d.type === "content_block_delta")
        assert.isTrue(deltas.every((d) => d.delta.type === "text_delta"))
        assert.strictEqual(words(deltas.map((d) => d.delta.text).join("")), 5)
        const messageDelta = data.find((d) => d.type === "message_delta")
        assert.strictEqual(messageDelta.usage.output_tokens, 5)
        assert.strictEqual(messageDelta.delta.stop_reason, "end_turn")
      })
    )
  )

  it.live("takes usage from a function of the request", () =>
    withFake((fake) =>
      Effect.gen(function* () {
        fake.setUsage((req) => ({ promptTokens: 1, completionTokens: (req.body as any).max_tokens }))
        const body: any = yield* call(() => post(`${fake.url}/v1/messages`, claude({ max_tokens: 3 })).then((r) => r.json()))
        assert.strictEqual(body.usage.output_tokens, 3)
        assert.strictEqual(words(body.content[0].text), 3)
      })
    )
  )
})

describe("FakeLlm: timing", () => {
  it.live("waits the latency before the first byte", () =>
    withFake((fake) =>
      Effect.gen(function* () {
        fake.setLatency(150)
        const started = performance.now()
        const res = yield* call(() => post(`${fake.url}/v1/chat/completions`, chat({ stream: true })))
        assert.isAtLeast(performance.now() - started, 145)
        yield* call(() => res.text())
      })
    )
  )

  it.live("waits the chunk delay between stream events", () =>
    withFake((fake) =>
      Effect.gen(function* () {
        fake.setUsage({ promptTokens: 1, completionTokens: 3 })
        fake.setChunkDelay(40)
        const res = yield* call(() => post(`${fake.url}/v1/messages`, claude({ stream: true })))
        const started = performance.now()
        const events = parseSse(yield* call(() => res.text()))
        // message_start goes out at once, then every one of the other events waits.
        assert.isAtLeast(performance.now() - started, (events.length - 1) * 40 - 10)
      })
    )
  )
})

describe("FakeLlm: faults", () => {
  it.live("fails the next requests with an OpenAI error and Retry-After, then recovers", () =>
    withFake((fake) =>
      Effect.gen(function* () {
        fake.failNext(2, { status: 429, retryAfterSeconds: 7 })
        for (let i = 0; i < 2; i++) {
          const res = yield* call(() => post(`${fake.url}/v1/chat/completions`, chat()))
          assert.strictEqual(res.status, 429)
          assert.strictEqual(res.headers.get("retry-after"), "7")
          const body: any = yield* call(() => res.json())
          assert.strictEqual(body.error.code, "rate_limit_exceeded")
          assert.isString(body.error.message)
          assert.isString(body.error.type)
        }
        const ok = yield* call(() => post(`${fake.url}/v1/chat/completions`, chat()))
        assert.strictEqual(ok.status, 200)
        yield* call(() => ok.text())
      })
    )
  )

  it.live("fails with an Anthropic error on the Messages API", () =>
    withFake((fake) =>
      Effect.gen(function* () {
        fake.failNext(1, { status: 503 })
        const res = yield* call(() => post(`${fake.url}/v1/messages`, claude()))
        assert.strictEqual(res.status, 503)
        assert.isNull(res.headers.get("retry-after"))
        const body: any = yield* call(() => res.json())
        assert.strictEqual(body.type, "error")
        assert.strictEqual(body.error.type, "overloaded_error")
        assert.isString(body.error.message)
        fake.failNext(1, { status: 429, retryAfterSeconds: 2 })
        const limited = yield* call(() => post(`${fake.url}/v1/messages`, claude()))
        assert.strictEqual(limited.headers.get("retry-after"), "2")
        assert.strictEqual(((yield* call(() => limited.json())) as any).error.type, "rate_limit_error")
      })
    )
  )

  it.live("drops a chat stream after the given number of chunks", () =>
    withFake((fake) =>
      Effect.gen(function* () {
        fake.setUsage({ promptTokens: 1, completionTokens: 6 })
        fake.dropNext(1, { afterChunks: 2 })
        const res = yield* call(() =>
          post(`${fake.url}/v1/chat/completions`, chat({ stream: true, stream_options: { include_usage: true } }))
        )
        assert.strictEqual(res.status, 200)
        const { text, error } = yield* call(() => readAll(res))
        assert.instanceOf(error, TypeError, "the body read rejects with a network error")
        const events = parseSse(text)
        assert.notInclude(
          events.map((e) => e.data),
          "[DONE]"
        )
        assert.strictEqual(events.map(json).filter((c) => c.choices[0]?.delta.content).length, 2)
        const again = yield* call(() => post(`${fake.url}/v1/chat/completions`, chat({ stream: true })).then(readAll))
        assert.isUndefined(again.error, "only the next request is dropped")
      })
    )
  )

  it.live("drops an Anthropic stream before message_delta, and a plain reply mid-body", () =>
    withFake((fake) =>
      Effect.gen(function* () {
        fake.setUsage({ promptTokens: 1, completionTokens: 2 })
        fake.dropNext(2, { afterChunks: 10 })
        const res = yield* call(() => post(`${fake.url}/v1/messages`, claude({ stream: true })))
        const { text, error } = yield* call(() => readAll(res))
        assert.isDefined(error)
        const names = parseSse(text).map((e) => e.event)
        assert.strictEqual(names.filter((n) => n === "content_block_delta").length, 2)
        assert.notInclude(names, "message_delta")
        const plain = yield* call(() => post(`${fake.url}/v1/messages`, claude()))
        const failed = yield* call(() =>
          plain.json().then(
            () => undefined,
            (e: unknown) => e
          )
        )
        assert.instanceOf(failed, TypeError)
      })
    )
  )

  it.live("ends open streams when the scope closes", () =>
    Effect.gen(function* () {
      const res = yield* withFake((fake) =>
        Effect.gen(function* () {
          fake.setChunkDelay(10_000)
          return yield* call(() => post(`${fake.url}/v1/chat/completions`, chat({ stream: true })))
        })
      )
      const { error } = yield* call(() => readAll(res))
      assert.isDefined(error)
    })
  )
})

describe("FakeLlm: keys and validation", () => {
  it.live("accepts only the required key, from Authorization on OpenAI routes and x-api-key on Anthropic", () =>
    withFake((fake) =>
      Effect.gen(function* () {
        fake.requireKey("sk-right")
        const missing = yield* call(() => fetch(`${fake.url}/v1/models`))
        assert.strictEqual(missing.status, 401)
        assert.strictEqual(((yield* call(() => missing.json())) as any).error.type, "invalid_request_error")
        const wrong = yield* call(() => post(`${fake.url}/v1/chat/completions`, chat(), { authorization: "Bearer sk-wrong" }))
        assert.strictEqual(wrong.status, 401)
        assert.strictEqual(((yield* call(() => wrong.json())) as any).error.code, "invalid_api_key")
        const right = yield* call(() => post(`${fake.url}/v1/chat/completions`, chat(), { authorization: "Bearer sk-right" }))
        assert.strictEqual(right.status, 200)
        yield* call(() => right.text())

        const bearerOnAnthropic = yield* call(() => post(`${fake.url}/v1/messages`, claude(), { authorization: "Bearer sk-right" }))
        assert.strictEqual(bearerOnAnthropic.status, 401)
        const body: any = yield* call(() => bearerOnAnthropic.json())
        assert.deepInclude(body, { type: "error" })
        assert.strictEqual(body.error.type, "authentication_error")
        const keyed = yield* call(() => post(`${fake.url}/v1/messages`, claude(), { "x-api-key": "sk-right" }))
        assert.strictEqual(keyed.status, 200)
        yield* call(() => keyed.text())
      })
    )
  )

  it.live("answers invalid JSON with 400 and unknown models and routes with 404, each in its dialect", () =>
    withFake((fake) =>
      Effect.gen(function* () {
        const badOpenAi = yield* call(() => post(`${fake.url}/v1/chat/completions`, "{not json"))
        assert.strictEqual(badOpenAi.status, 400)
        assert.strictEqual(((yield* call(() => badOpenAi.json())) as any).error.type, "invalid_request_error")
        const badAnthropic = yield* call(() => post(`${fake.url}/v1/messages`, "{not json"))
        assert.strictEqual(badAnthropic.status, 400)
        assert.deepInclude(((yield* call(() => badAnthropic.json())) as any).error, { type: "invalid_request_error" })

        const unknownOpenAi = yield* call(() => post(`${fake.url}/v1/responses`, { model: "gpt-0", input: "Hi" }))
        assert.strictEqual(unknownOpenAi.status, 404)
        assert.strictEqual(((yield* call(() => unknownOpenAi.json())) as any).error.code, "model_not_found")
        const unknownAnthropic = yield* call(() => post(`${fake.url}/v1/messages`, claude({ model: "claude-0" })))
        assert.strictEqual(unknownAnthropic.status, 404)
        const body: any = yield* call(() => unknownAnthropic.json())
        assert.strictEqual(body.type, "error")
        assert.strictEqual(body.error.type, "not_found_error")

        const route = yield* call(() => post(`${fake.url}/v1/embeddings`, { model: "gpt-4.1" }))
        assert.strictEqual(route.status, 404)
        assert.isObject(((yield* call(() => route.json())) as any).error)
      })
    )
  )

  it.live("logs every request with its parsed body and lower-case headers", () =>
    withFake((fake) =>
      Effect.gen(function* () {
        yield* call(() => post(`${fake.url}/v1/chat/completions`, chat(), { Authorization: "Bearer sk-log" }).then((r) => r.text()))
        yield* call(() => post(`${fake.url}/v1/messages`, claude(), { "X-Api-Key": "sk-ant" }).then((r) => r.text()))
        const [first, second, ...rest] = fake.requests()
        assert.lengthOf(rest, 0)
        assert.strictEqual(first?.method, "POST")
        assert.strictEqual(first?.path, "/v1/chat/completions")
        assert.strictEqual(first?.headers.authorization, "Bearer sk-log")
        assert.deepStrictEqual(first?.body, chat())
        assert.strictEqual(second?.headers["x-api-key"], "sk-ant")
        assert.deepStrictEqual(second?.body, claude())
        fake.resetRequests()
        assert.lengthOf(fake.requests(), 0)
      })
    )
  )
})
