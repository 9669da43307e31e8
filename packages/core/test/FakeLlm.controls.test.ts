import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { call, chat, claude, json, parseSse, post, readAll, withFake } from "./support/llm.ts"

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
