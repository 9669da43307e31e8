import { Store } from "@clawfleet/core"
import { meteringConformance } from "@clawfleet/core/testing"
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { Metering } from "../src/proxy/Metering.ts"

meteringConformance("pglite (in memory)", Metering.layerSql({ schema: "clawfleet" }).pipe(Layer.provideMerge(Store.pgliteClient())))

const pgUrl = process.env.CLAWFLEET_TEST_PG_URL
if (pgUrl === undefined) {
  describe("metering conformance: postgres", () => {
    it.skip("needs a PostgreSQL server: set CLAWFLEET_TEST_PG_URL (for example postgres://postgres@127.0.0.1:5432/test); .ci/run sets it", () => {})
  })
} else {
  // A schema of its own per run, dropped afterwards, so runs never see each other's rows.
  const schema = `cf_metering_${process.pid}_${Date.now().toString(36)}`
  const client = () => PgClient.layer({ url: Redacted.make(pgUrl), maxConnections: 10 })
  const dropSchema = Layer.effectDiscard(
    Effect.addFinalizer(() => SqlClient.SqlClient.use((sql) => sql.unsafe(`drop schema if exists "${schema}" cascade`)).pipe(Effect.orDie))
  )
  meteringConformance("postgres", Layer.mergeAll(Metering.layerSql({ schema }), dropSchema).pipe(Layer.provideMerge(client())))

  describe("metering across replicas", () => {
    it.live("two connection pools reserving one tenant's budget at once never overspend it", () =>
      Effect.gen(function* () {
        const replicaSchema = `${schema}_replicas`
        // Each replica has a pool of its own, as two proxy processes would.
        const replica = () => Metering.layerSql({ schema: replicaSchema }).pipe(Layer.provideMerge(client()))
        const [one, two] = yield* Effect.all([Layer.build(replica()), Layer.build(replica())])
        yield* Effect.addFinalizer(() =>
          SqlClient.SqlClient.use((sql) => sql.unsafe(`drop schema if exists "${replicaSchema}" cascade`)).pipe(
            Effect.provideContext(one!),
            Effect.orDie
          )
        )
        const pools = [Context.get(one!, Metering), Context.get(two!, Metering)]
        const budget = 37
        const limits = { monthlyTokens: budget * 3, requestsPerMinute: 100_000, tokensPerMinute: 1_000_000 }
        const results = yield* Effect.forEach(
          Array.from({ length: 1000 }, (_, i) => i),
          (i) => pools[i % 2]!.reserve({ requestId: `race-${i}`, tenant: "shared", model: "m", tokens: 3, micros: 1, limits }),
          { concurrency: "unbounded" }
        )
        const admitted = results.flatMap((r, i) => (r._tag === "Admitted" ? [`race-${i}`] : []))
        assert.strictEqual(admitted.length, budget)
        for (const pool of pools) {
          const usage = yield* pool.usage("shared")
          assert.strictEqual(usage.reservedTokens, budget * 3)
          assert.strictEqual(usage.requests, budget)
        }

        // Settles on one replica, releases on the other and expiry sweeps on both, all at once:
        // the locks queue without deadlocking, and every reservation is closed exactly once.
        const [closes, sweeps] = yield* Effect.all(
          [
            Effect.forEach(
              admitted,
              (id, i) =>
                i % 2 === 0 ? pools[0]!.settle(id, { inputTokens: 1, outputTokens: i % 4, micros: 1 }) : pools[1]!.release(id, "race"),
              { concurrency: "unbounded" }
            ),
            Effect.forEach([0, 1, 0, 1], (p) => pools[p]!.releaseExpired(0), { concurrency: "unbounded" })
          ],
          { concurrency: "unbounded" }
        )
        const swept = sweeps.reduce((a, b) => a + b, 0)
        assert.strictEqual(closes.filter(Boolean).length + swept, budget)
        const rows = yield* pools[1]!.ledger("shared", { limit: 1000 })
        assert.strictEqual(rows.filter((r) => r.state === "released" && r.note === "expired").length, swept)
        const usage = yield* pools[0]!.usage("shared")
        assert.strictEqual(usage.reservedTokens, 0)
        assert.strictEqual(
          usage.spentTokens,
          rows.reduce((sum, r) => sum + r.inputTokens + r.outputTokens, 0)
        )
      })
    )
  })
}
