import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { call, chat, claude, post, withFake } from "./support/llm.ts"

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
