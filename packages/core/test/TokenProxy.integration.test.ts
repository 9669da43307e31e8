import { Clawfleet, Metering, Store, TenantGate, TokenProxy, VirtualKeys } from "@clawfleet/core"
import { FakeLlm } from "@clawfleet/core/testing"
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { seedTenant, upstreamsFor } from "./support/tokenProxy.ts"

const pgUrl = process.env.CLAWFLEET_TEST_PG_URL

/** One proxy replica: its own connection pool, the shared schema, the shared fake upstream. */
const replica = (url: string, schema: string, fakeUrl: string) =>
  TokenProxy.layer({ upstreams: upstreamsFor(fakeUrl) }).pipe(
    Layer.provideMerge(Layer.mergeAll(TenantGate.layer, Metering.layerSql({ schema })).pipe(Layer.provideMerge(VirtualKeys.layer))),
    Layer.provideMerge(Clawfleet.layer(Store.layerSql({ schema }))),
    Layer.provideMerge(PgClient.layer({ url: Redacted.make(url), maxConnections: 10 })),
    Layer.fresh
  )

type Outcome = "served" | "refused" | "upstream-failed" | "dropped" | "hung-up"

const REQUESTS = 1000
const BUDGET = 10_000

const streamOnce = async (url: string, key: string, i: number): Promise<Outcome> => {
  const abort = new AbortController()
  // About one caller in ten hangs up at a random moment.
  const hangUp = i % 10 === 3
  if (hangUp) setTimeout(() => abort.abort(), Math.floor(Math.random() * 400))
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4.1", max_tokens: 20, stream: true, messages: [{ role: "user", content: `question ${i}` }] }),
      signal: abort.signal
    })
    const text = await res.text()
    if (res.status === 429) return "refused"
    if (res.status >= 500) return "upstream-failed"
    assert.strictEqual(res.status, 200, text)
    return text.includes("[DONE]") ? "served" : "dropped"
  } catch {
    return hangUp ? "hung-up" : "dropped"
  }
}

if (pgUrl === undefined) {
  describe("token proxy on PostgreSQL", () => {
    it.skip("needs a PostgreSQL server: set CLAWFLEET_TEST_PG_URL (for example postgres://postgres@127.0.0.1:5432/test); .ci/run sets it", () => {})
  })
} else {
  describe("token proxy on PostgreSQL", () => {
    // Live clock: the proxies, the pools and the wait for closing reservations keep real time.
    it.live(
      `never overspends: ${REQUESTS} concurrent streams through 2 replicas against a budget of ${BUDGET} tokens`,
      () =>
        Effect.gen(function* () {
          const schema = `cf_proxy_${process.pid}_${Date.now().toString(36)}`
          const fake = yield* FakeLlm
          fake.setChunkDelay(2)
          // Usage varies per request but never exceeds what the proxy holds (body bytes + max_tokens).
          fake.setUsage(() => ({ promptTokens: 1 + Math.floor(Math.random() * 30), completionTokens: 1 + Math.floor(Math.random() * 20) }))
          fake.failNext(40, { status: 503 })
          fake.dropNext(40, { afterChunks: 1 })

          const a = yield* Layer.build(replica(pgUrl, schema, fake.url))
          const b = yield* Layer.build(replica(pgUrl, schema, fake.url))
          yield* Effect.addFinalizer(() =>
            SqlClient.SqlClient.use((sql) => sql.unsafe(`drop schema if exists "${schema}" cascade`)).pipe(Effect.provide(a), Effect.orDie)
          )
          const key = yield* seedTenant({ monthlyTokens: BUDGET }).pipe(Effect.provide(a))
          const urls = [(yield* TokenProxy.pipe(Effect.provide(a))).url, (yield* TokenProxy.pipe(Effect.provide(b))).url]

          const outcomes = yield* Effect.promise(() =>
            Promise.all(Array.from({ length: REQUESTS }, (_, i) => streamOnce(urls[i % 2]!, key, i)))
          )
          const count = (o: Outcome) => outcomes.filter((x) => x === o).length
          assert.isAbove(count("served"), 100)
          assert.isAbove(count("refused"), 100, "the budget is far smaller than the demand")
          assert.strictEqual(count("served") + count("refused") + count("upstream-failed") + count("dropped") + count("hung-up"), REQUESTS)

          const metering = yield* Metering.pipe(Effect.provide(b))
          // Closing a reservation runs after the reply ends: wait until none is held.
          let usage = yield* metering.usage("ada")
          for (let i = 0; i < 3000 && usage.reservedTokens > 0; i++) {
            yield* Effect.sleep("10 millis")
            usage = yield* metering.usage("ada")
          }
          if (usage.reservedTokens > 0) {
            const open = (yield* metering.ledger("ada", { limit: 1000 })).filter((r) => r.state === "reserved")
            assert.fail(`reservations still held after 30 s: ${JSON.stringify(open.slice(0, 5))}`)
          }
          assert.isAtMost(usage.spentTokens, BUDGET)

          const rows: Array<{ state: string; inputTokens: number; outputTokens: number }> = []
          let after: string | undefined
          for (;;) {
            const page = yield* metering.ledger("ada", { after, limit: 1000 })
            rows.push(...page)
            if (page.length < 1000) break
            after = page.at(-1)!.requestId
          }
          const settled = rows.filter((r) => r.state === "settled")
          assert.strictEqual(
            settled.reduce((sum, r) => sum + r.inputTokens + r.outputTokens, 0),
            usage.spentTokens,
            "the ledger adds up to the settled spend"
          )
          // A caller who hung up before its request was metered left no row; every other admitted one did.
          assert.isAtMost(rows.length, REQUESTS - count("refused"))
          assert.isAtLeast(rows.length, count("served") + count("upstream-failed"))
        }).pipe(Effect.provide(FakeLlm.layer()), Effect.scoped),
      120_000
    )
  })
}
