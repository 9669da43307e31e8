import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { call, claude, json, parseSse, post, withFake, words } from "./support/llm.ts"

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
