import * as http from "node:http"
import { Clawfleet, Fleet, listen, Metering, TenantGate, TokenProxy, VirtualKeys, withActor } from "@clawfleet/core"
import { FakeLlm } from "@clawfleet/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { Metrics } from "../../src/ops/Metrics.ts"
import { metricsHandler } from "../../src/ops/metricsHandler.ts"
import { CLIENT_CLOSED, instrumentTokenProxy, MeteringMetrics } from "../../src/ops/tokenProxyMetrics.ts"
import { sampleValue } from "./support/exposition.ts"

// The real token proxy's handler over an in-memory fleet and the fake LLM, with the metering counted.
const env = Layer.mergeAll(TenantGate.layer, MeteringMetrics.pipe(Layer.provide(Metering.layerMemory))).pipe(
  Layer.provideMerge(VirtualKeys.layer),
  Layer.provideMerge(Layer.fresh(Clawfleet.layerMemory)),
  Layer.provideMerge(FakeLlm.layer()),
  Layer.provideMerge(Metrics.layer)
)

// Ada's assistant may use gpt-4.1 with a monthly budget of 5,000 tokens.
const seed = Effect.gen(function* () {
  const fleet = yield* Fleet
  yield* fleet.onboardPerson({ person: { id: "ada", email: "ada@example.com", displayName: "Ada" }, tenant: false })
  yield* fleet.createTenant({ name: "ada", spec: { owner: "ada", budget: { monthlyTokens: 5000 } } })
  yield* fleet.putCatalogItem("model", { name: "gpt-4.1", upstream: "openai" })
  yield* fleet.grant({ subject: { kind: "person", id: "ada" }, resource: { kind: "model", name: "gpt-4.1" }, effect: "allow" })
  return Redacted.value((yield* (yield* VirtualKeys).issue("ada")).key)
}).pipe(withActor("admin@example.com"))

const chat = (url: string, key: string, maxTokens: number) =>
  Effect.promise(() =>
    fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4.1", max_tokens: maxTokens, messages: [{ role: "user", content: "Hi" }] })
    }).then(async (r) => ({ status: r.status, body: await r.text() }))
  )

describe("Metrics of the token proxy", () => {
  it.live("counts requests by route and status, times them, and counts budget refusals by reason", () =>
    Effect.gen(function* () {
      const key = yield* seed
      const metrics = yield* Metrics
      const fake = yield* FakeLlm
      const handler = yield* TokenProxy.handler({
        upstreams: [{ name: "openai", dialect: "openai", baseUrl: `${fake.url}/v1`, apiKey: Redacted.make("sk-upstream") }]
      })
      const { origin } = yield* listen(http.createServer(instrumentTokenProxy(handler, metrics.tokenProxy)), {})

      assert.strictEqual((yield* chat(origin, key, 10)).status, 200)
      // The proxy holds the whole output cap before going upstream: 30,000 tokens do not fit in 5,000.
      assert.strictEqual((yield* chat(origin, key, 30_000)).status, 429)
      assert.strictEqual((yield* Effect.promise(() => fetch(`${origin}/admin/secret-path-1`))).status, 404)

      // The response ends before the listener's `close` event: wait for the last one to be counted.
      let text = metrics.render()
      for (let i = 0; i < 50 && sampleValue(text, "clawfleet_token_proxy_requests_total", { route: "other" }) === undefined; i++) {
        yield* Effect.sleep("10 millis")
        text = metrics.render()
      }
      const requests = (route: string, status: string) => sampleValue(text, "clawfleet_token_proxy_requests_total", { route, status })
      assert.strictEqual(requests("/v1/chat/completions", "200"), 1)
      assert.strictEqual(requests("/v1/chat/completions", "429"), 1)
      assert.strictEqual(requests("other", "404"), 1, "unknown paths share one series")
      assert.notInclude(text, "secret-path")
      assert.strictEqual(sampleValue(text, "clawfleet_token_proxy_budget_refusals_total", { reason: "MonthlyTokens" }), 1)
      const count = sampleValue(text, "clawfleet_token_proxy_request_duration_seconds_count", { route: "/v1/chat/completions" })
      assert.strictEqual(count, 2)
      assert.isAbove(sampleValue(text, "clawfleet_token_proxy_request_duration_seconds_sum", { route: "/v1/chat/completions" })!, 0)
    }).pipe(Effect.provide(env))
  )

  it.live("counts a client that left before it was answered as 499", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics
      // A listener that never answers, like an upstream that hangs.
      const { origin } = yield* listen(http.createServer(instrumentTokenProxy(() => undefined, metrics.tokenProxy)), {})
      const aborted = new AbortController()
      const pending = fetch(`${origin}/v1/messages`, { method: "POST", body: "{}", signal: aborted.signal }).catch(() => undefined)
      yield* Effect.sleep("50 millis")
      aborted.abort()
      yield* Effect.promise(() => pending)
      let seen: number | undefined
      for (let i = 0; i < 50 && seen === undefined; i++) {
        yield* Effect.sleep("10 millis")
        seen = sampleValue(metrics.render(), "clawfleet_token_proxy_requests_total", {
          route: "/v1/messages",
          status: String(CLIENT_CLOSED)
        })
      }
      assert.strictEqual(seen, 1)
    }).pipe(Effect.provide(Metrics.layer))
  )
})

describe("metricsHandler", () => {
  it.live("serves the exposition at GET /metrics with the 0.0.4 content type, and nothing else", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics
      metrics.reconciler.passes.inc({ outcome: "Reconciled" })
      const serve = metricsHandler(metrics)
      const { origin } = yield* listen(
        http.createServer((req, res) => {
          if (serve(req, res)) return
          res.writeHead(404)
          res.end()
        }),
        {}
      )
      const res = yield* Effect.promise(() => fetch(`${origin}/metrics`))
      assert.strictEqual(res.status, 200)
      assert.strictEqual(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8")
      assert.strictEqual(res.headers.get("cache-control"), "no-store")
      const body = yield* Effect.promise(() => res.text())
      assert.isTrue(body.startsWith("# HELP clawfleet_reconciler_queue_depth "))
      assert.strictEqual(sampleValue(body, "clawfleet_reconcile_passes_total", { outcome: "Reconciled" }), 1)
      assert.include(body, "# TYPE clawfleet_token_proxy_request_duration_seconds histogram\n")

      const head = yield* Effect.promise(() => fetch(`${origin}/metrics?x=1`, { method: "HEAD" }))
      assert.strictEqual(head.status, 200)
      const post = yield* Effect.promise(() => fetch(`${origin}/metrics`, { method: "POST" }))
      assert.strictEqual(post.status, 405)
      assert.strictEqual(post.headers.get("allow"), "GET, HEAD")
      assert.strictEqual((yield* Effect.promise(() => fetch(`${origin}/metricsx`))).status, 404, "other paths fall through")
    }).pipe(Effect.provide(Metrics.layer))
  )
})
