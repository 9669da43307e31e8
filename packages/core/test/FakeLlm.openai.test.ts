import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { call, chat, json, parseSse, post, withFake, words } from "./support/llm.ts"

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
