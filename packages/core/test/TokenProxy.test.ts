import {
  Audit,
  Clawfleet,
  Fleet,
  Metering,
  StoreError,
  TenantGate,
  TokenProxy,
  type TokenProxyOptions,
  VirtualKeys,
  withActor
} from "@clawfleet/core"
import { FakeLlm } from "@clawfleet/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { chat, seedTenant, send, UPSTREAM_KEY, upstreamsFor } from "./support/tokenProxy.ts"

/** A fresh fleet in memory, the fake upstream and a token proxy in front of it, per test. */
const env = (options: Partial<TokenProxyOptions> = {}, metering: Layer.Layer<Metering> = Metering.layerMemory) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const fake = yield* FakeLlm
      return TokenProxy.layer({ upstreams: upstreamsFor(fake.url), ...options })
    })
  ).pipe(
    Layer.provideMerge(Layer.mergeAll(TenantGate.layer, metering).pipe(Layer.provideMerge(VirtualKeys.layer))),
    Layer.provideMerge(Layer.fresh(Clawfleet.layerMemory)),
    Layer.provideMerge(FakeLlm.layer())
  )

type Env = Layer.Success<ReturnType<typeof env>>

const run = <A, E>(
  body: (ctx: { readonly url: string; readonly key: string; readonly fake: FakeLlm["Service"] }) => Effect.Effect<A, E, Env>,
  options?: Partial<TokenProxyOptions> & { readonly budget?: Parameters<typeof seedTenant>[0] },
  metering?: Layer.Layer<Metering>
) =>
  Effect.gen(function* () {
    const key = yield* seedTenant(options?.budget)
    const proxy = yield* TokenProxy
    return yield* body({ url: proxy.url, key, fake: yield* FakeLlm })
  }).pipe(Effect.provide(env(options, metering)), Effect.scoped)

const post = (url: string, path: string, body: string, key?: string, headers?: Record<string, string>) =>
  Effect.promise(() => send(`${url}${path}`, { method: "POST", body, key, ...(headers !== undefined ? { headers } : {}) }))

const ledgerOf = Effect.gen(function* () {
  return yield* (yield* Metering).ledger("ada", { limit: 1000 })
})

const WARN_BODY = chat("gpt-4.1", { max_tokens: 10 })

describe("TokenProxy", () => {
  it.effect("serves a chat completion with the upstream's key and settles what it used", () =>
    run(({ url, key, fake }) =>
      Effect.gen(function* () {
        const reply = yield* post(url, "/v1/chat/completions", chat("gpt-4.1"), key)
        assert.strictEqual(reply.status, 200)
        assert.strictEqual(reply.json.choices[0].message.content.split(" ").length, 5)
        const [upstream] = fake.requests()
        assert.strictEqual(upstream?.headers.authorization, `Bearer ${UPSTREAM_KEY}`)
        assert.notInclude(JSON.stringify(upstream?.headers), key)
        assert.strictEqual((upstream!.body as any).max_completion_tokens, 4096, "a cap is always sent upstream")
        const [row] = yield* ledgerOf
        assert.deepInclude(row, { state: "settled", inputTokens: 10, outputTokens: 5, micros: 60, model: "gpt-4.1" })
        assert.strictEqual(reply.headers.get("x-clawfleet-request-id"), row?.requestId)
        const usage = yield* (yield* Metering).usage("ada")
        assert.deepInclude(usage, { spentTokens: 15, reservedTokens: 0, spentMicros: 60, requests: 1 })
      })
    )
  )

  it.effect("streams chat completions, asking the upstream for usage and settling from the last chunk", () =>
    run(({ url, key, fake }) =>
      Effect.gen(function* () {
        fake.setUsage({ promptTokens: 12, completionTokens: 7 })
        const reply = yield* post(url, "/v1/chat/completions", chat("gpt-4.1", { stream: true, max_tokens: 100 }), key)
        assert.strictEqual(reply.status, 200)
        assert.match(reply.headers.get("content-type") ?? "", /text\/event-stream/)
        assert.include(reply.text, "data: [DONE]")
        const body = fake.requests()[0]?.body as any
        assert.deepStrictEqual(body.stream_options, { include_usage: true })
        assert.strictEqual(body.max_tokens, 100, "the caller's own field is kept")
        const [row] = yield* ledgerOf
        assert.deepInclude(row, { state: "settled", inputTokens: 12, outputTokens: 7 })
      })
    )
  )

  it.effect("streams the Responses API and Anthropic Messages, settling their reported usage", () =>
    run(({ url, key, fake }) =>
      Effect.gen(function* () {
        fake.setUsage({ promptTokens: 21, completionTokens: 4 })
        const responses = yield* post(url, "/v1/responses", JSON.stringify({ model: "gpt-4.1", input: "hi", stream: true }), key)
        assert.strictEqual(responses.status, 200)
        assert.include(responses.text, "response.completed")
        const messages = yield* post(
          url,
          "/v1/messages",
          JSON.stringify({ model: "claude-sonnet-4-5", max_tokens: 50, stream: true, messages: [{ role: "user", content: "hi" }] }),
          undefined,
          { "x-api-key": key }
        )
        assert.strictEqual(messages.status, 200)
        assert.include(messages.text, "message_stop")
        assert.strictEqual(fake.requests()[1]?.headers["x-api-key"], UPSTREAM_KEY)
        const rows = yield* ledgerOf
        assert.deepStrictEqual(rows.map((r) => [r.model, r.state, r.inputTokens, r.outputTokens]).sort(), [
          ["claude-sonnet-4-5", "settled", 21, 4],
          ["gpt-4.1", "settled", 21, 4]
        ])
      })
    )
  )

  it.effect("answers 401 in the caller's dialect for an absent, wrong or revoked key", () =>
    run(({ url, key }) =>
      Effect.gen(function* () {
        const absent = yield* post(url, "/v1/chat/completions", chat("gpt-4.1"))
        assert.strictEqual(absent.status, 401)
        assert.strictEqual(absent.json.error.code, "invalid_api_key")
        const wrong = yield* post(url, "/v1/chat/completions", chat("gpt-4.1"), `cfk_${"x".repeat(43)}`)
        assert.strictEqual(wrong.status, 401)
        const anthropic = yield* post(url, "/v1/messages", "{}", undefined, { "x-api-key": "nope" })
        assert.strictEqual(anthropic.status, 401)
        assert.deepInclude(anthropic.json, { type: "error" })
        assert.strictEqual(anthropic.json.error.type, "authentication_error")

        assert.strictEqual((yield* post(url, "/v1/chat/completions", chat("gpt-4.1"), key)).status, 200)
        const keys = yield* VirtualKeys
        yield* keys.revokeTenant("ada").pipe(withActor("admin@example.com"))
        const revoked = yield* post(url, "/v1/chat/completions", chat("gpt-4.1"), key)
        assert.strictEqual(revoked.status, 401, "revocation holds from the next request")
      })
    )
  )

  it.effect("refuses a model that is not granted with 403, audited, and a suspended tenant's key with 401", () =>
    run(({ url, key, fake }) =>
      Effect.gen(function* () {
        const denied = yield* post(url, "/v1/chat/completions", chat("gpt-4.1-mini"), key)
        assert.strictEqual(denied.status, 403)
        assert.strictEqual(denied.json.error.code, "model_not_allowed")
        const unknown = yield* post(url, "/v1/chat/completions", chat("no-such-model"), key)
        assert.strictEqual(unknown.status, 403)
        assert.strictEqual(fake.requests().length, 0)
        const events = yield* (yield* Audit).list({ limit: 1000 })
        assert.isTrue(events.some((e) => e.action === "model.deny" && e.target.id === "gpt-4.1-mini" && e.actor === "tenant:ada"))
        const fleet = yield* Fleet
        yield* fleet.suspendTenant("ada").pipe(withActor("admin@example.com"))
        assert.strictEqual((yield* post(url, "/v1/chat/completions", chat("gpt-4.1"), key)).status, 401)
      })
    )
  )

  it.effect("lists only granted models, in either dialect", () =>
    run(({ url, key }) =>
      Effect.gen(function* () {
        const openai = yield* Effect.promise(() => send(`${url}/v1/models`, { key }))
        assert.deepStrictEqual(
          openai.json.data.map((m: any) => m.id),
          ["claude-sonnet-4-5", "gpt-4.1"]
        )
        const anthropic = yield* Effect.promise(() => send(`${url}/v1/models`, { key, headers: { "anthropic-version": "2023-06-01" } }))
        assert.strictEqual(anthropic.json.data[0].type, "model")
        assert.strictEqual((yield* Effect.promise(() => send(`${url}/v1/models`, {}))).status, 401)
      })
    )
  )

  it.effect("refuses bad bodies before they cost anything", () =>
    run(
      ({ url, key, fake }) =>
        Effect.gen(function* () {
          assert.strictEqual((yield* post(url, "/v1/chat/completions", "{not json", key)).status, 400)
          assert.strictEqual((yield* post(url, "/v1/chat/completions", JSON.stringify({ messages: [] }), key)).status, 400)
          assert.strictEqual((yield* post(url, "/v1/chat/completions", chat("claude-sonnet-4-5"), key)).status, 400)
          const big = yield* post(url, "/v1/chat/completions", chat("gpt-4.1", { pad: "x".repeat(5000) }), key)
          assert.strictEqual(big.status, 413)
          assert.strictEqual((yield* Effect.promise(() => send(`${url}/v1/chat/completions`, { key }))).status, 405)
          assert.strictEqual((yield* Effect.promise(() => send(`${url}/v2/other`, { key }))).status, 404)
          assert.strictEqual(fake.requests().length, 0)
          assert.strictEqual((yield* ledgerOf).length, 0)
        }),
      { maxBodyBytes: 4096 }
    )
  )

  it.effect("refuses with 429 and Retry-After once the monthly budget is held, and warns at 90 %", () =>
    run(
      ({ url, key }) =>
        Effect.gen(function* () {
          // Each request holds its body's bytes plus 100 output tokens and settles at 15 tokens.
          const body = chat("gpt-4.1", { max_tokens: 100 })
          const first = yield* post(url, "/v1/chat/completions", body, key)
          assert.strictEqual(first.status, 200)
          let last = first
          for (let i = 0; i < 100 && last.status === 200; i++) last = yield* post(url, "/v1/chat/completions", body, key)
          assert.strictEqual(last.status, 429)
          assert.strictEqual(last.json.error.code, "insufficient_quota")
          assert.isAbove(Number(last.headers.get("retry-after")), 0)
          const usage = yield* (yield* Metering).usage("ada")
          assert.isAtMost(usage.spentTokens, 1000)
          assert.isAbove(usage.spentTokens, 1000 - (body.length + 100))
          const warned = yield* (yield* Metering).usage("ada")
          assert.strictEqual(warned.reservedTokens, 0)
        }),
      { budget: { monthlyTokens: 1000 } }
    )
  )

  it.effect("sends the budget warning header from 90 % on", () =>
    run(
      ({ url, key }) =>
        Effect.gen(function* () {
          const r1 = yield* post(url, "/v1/chat/completions", WARN_BODY, key)
          assert.strictEqual(r1.status, 200)
          assert.isNull(r1.headers.get("x-clawfleet-budget-warning"))
          const r2 = yield* post(url, "/v1/chat/completions", WARN_BODY, key)
          assert.strictEqual(r2.status, 200)
          assert.match(r2.headers.get("x-clawfleet-budget-warning") ?? "", /^9\d% of the monthly token budget is used$/)
        }),
      // The first request settles at 15 tokens; the second's hold (body + 10) then takes the month past 90 %.
      { budget: { monthlyTokens: Math.ceil((15 + WARN_BODY.length + 10) / 0.95) } }
    )
  )

  it.effect("limits requests per minute with 429 and Retry-After", () =>
    run(
      ({ url, key }) =>
        Effect.gen(function* () {
          assert.strictEqual((yield* post(url, "/v1/chat/completions", chat("gpt-4.1"), key)).status, 200)
          assert.strictEqual((yield* post(url, "/v1/chat/completions", chat("gpt-4.1"), key)).status, 200)
          const limited = yield* post(url, "/v1/chat/completions", chat("gpt-4.1"), key)
          assert.strictEqual(limited.status, 429)
          assert.strictEqual(limited.json.error.code, "rate_limit_exceeded")
          assert.strictEqual(limited.headers.get("retry-after"), "30")
        }),
      { defaultLimits: { requestsPerMinute: 2 } }
    )
  )

  it.effect("releases the hold when the upstream fails, and hides the upstream's words about its key", () =>
    run(({ url, key, fake }) =>
      Effect.gen(function* () {
        fake.failNext(1, { status: 500 })
        const failed = yield* post(url, "/v1/chat/completions", chat("gpt-4.1"), key)
        assert.strictEqual(failed.status, 500)
        fake.failNext(1, { status: 429, retryAfterSeconds: 7 })
        const limited = yield* post(url, "/v1/chat/completions", chat("gpt-4.1"), key)
        assert.strictEqual(limited.status, 429)
        assert.strictEqual(limited.headers.get("retry-after"), "7")
        fake.requireKey("some-other-key")
        const refused = yield* post(url, "/v1/chat/completions", chat("gpt-4.1"), key)
        assert.strictEqual(refused.status, 502)
        assert.notInclude(refused.text, "Incorrect API key")
        const rows = yield* ledgerOf
        assert.deepStrictEqual(
          rows.map((r) => r.state),
          ["released", "released", "released"]
        )
        assert.deepInclude(yield* (yield* Metering).usage("ada"), { spentTokens: 0, reservedTokens: 0 })
      })
    )
  )

  it.effect("releases the hold when the upstream drops mid-stream", () =>
    run(({ url, key, fake }) =>
      Effect.gen(function* () {
        fake.dropNext(1, { afterChunks: 2 })
        yield* Effect.promise(() =>
          send(`${url}/v1/chat/completions`, { method: "POST", key, body: chat("gpt-4.1", { stream: true }) }).catch(() => undefined)
        )
        yield* waitFor(Effect.map(ledgerOf, (rows) => rows[0]?.state === "released"))
        const [row] = yield* ledgerOf
        assert.strictEqual(row?.note, "upstream-dropped")
      })
    )
  )

  it.effect("charges what was held when the caller hangs up on a begun stream, and nothing before it began", () =>
    run(({ url, key, fake }) =>
      Effect.gen(function* () {
        fake.setChunkDelay(50)
        yield* Effect.tryPromise(async () => {
          const abort = new AbortController()
          const res = await fetch(`${url}/v1/chat/completions`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: chat("gpt-4.1", { stream: true, max_tokens: 50 }),
            signal: abort.signal
          })
          const reader = res.body!.getReader()
          await reader.read()
          abort.abort()
        }).pipe(Effect.ignore)
        yield* waitFor(Effect.map(ledgerOf, (rows) => rows[0]?.state === "settled"))
        const [row] = yield* ledgerOf
        assert.strictEqual(row?.outputTokens, 50)
        fake.setLatency(200)
        yield* Effect.tryPromise(async () => {
          const abort = new AbortController()
          setTimeout(() => abort.abort(), 50)
          await fetch(`${url}/v1/chat/completions`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: chat("gpt-4.1", { stream: true }),
            signal: abort.signal
          })
        }).pipe(Effect.ignore)
        yield* waitFor(Effect.map(ledgerOf, (rows) => rows.some((r) => r.state === "released")))
        assert.strictEqual((yield* ledgerOf).find((r) => r.state === "released")?.note, "client-disconnect")
      })
    )
  )

  it.effect("fails closed with 503 when the metering store is unavailable", () =>
    run(
      ({ url, key, fake }) =>
        Effect.gen(function* () {
          const reply = yield* post(url, "/v1/chat/completions", chat("gpt-4.1"), key)
          assert.strictEqual(reply.status, 503)
          assert.strictEqual(reply.json.error.code, "unavailable")
          assert.strictEqual(fake.requests().length, 0)
        }),
      {},
      brokenMetering
    )
  )
})

const waitFor = (condition: Effect.Effect<boolean, unknown, any>) =>
  Effect.gen(function* () {
    for (let i = 0; i < 200; i++) {
      if (yield* condition) return
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 10)))
    }
    assert.fail("condition not met within 2 s")
  })

const down = Effect.fail(StoreError.unavailable("connection refused", true))
const brokenMetering = Layer.succeed(Metering, {
  reserve: () => down,
  reserveMany: () => down,
  settle: () => down,
  release: () => down,
  closeMany: () => down,
  releaseExpired: () => down,
  usage: () => down,
  ledger: () => down
} as Metering["Service"])
