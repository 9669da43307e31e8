import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Department, Directory, Store } from "@clawfleet/core"
import { storeConformance } from "@clawfleet/core/testing"
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"

const tamperSql = (schema: string) => ({
  rewrite: (seq: number) =>
    SqlClient.SqlClient.use((sql) =>
      sql.unsafe(`update "${schema}".audit_events set body = jsonb_set(body, '{actor}', '"mallory"') where seq = $1`, [seq])
    ),
  dropNewest: SqlClient.SqlClient.use((sql) =>
    sql.unsafe(`delete from "${schema}".audit_events where seq = (select max(seq) from "${schema}".audit_events)`)
  )
})

storeConformance("pglite (in memory)", Store.layerSql({ schema: "clawfleet" }).pipe(Layer.provideMerge(Store.pgliteClient())), {
  tamper: tamperSql("clawfleet")
})

const pgUrl = process.env.CLAWFLEET_TEST_PG_URL
if (pgUrl === undefined) {
  describe("store conformance: postgres", () => {
    it.skip("needs a PostgreSQL server: set CLAWFLEET_TEST_PG_URL (for example postgres://postgres@127.0.0.1:5432/test); .ci/run sets it", () => {})
  })
} else {
  // A schema of its own per run, dropped afterwards, so runs never see each other's rows.
  const schema = `cf_test_${process.pid}_${Date.now().toString(36)}`
  const client = PgClient.layer({ url: Redacted.make(pgUrl), maxConnections: 10 })
  const dropSchema = Layer.effectDiscard(
    Effect.addFinalizer(() => SqlClient.SqlClient.use((sql) => sql.unsafe(`drop schema if exists "${schema}" cascade`)).pipe(Effect.orDie))
  )
  storeConformance("postgres", Layer.mergeAll(Store.layerSql({ schema }), dropSchema).pipe(Layer.provideMerge(client)), {
    tamper: tamperSql(schema)
  })
}

describe("pglite in a directory", () => {
  it.effect("keeps records across restarts and migrates only once", () =>
    Effect.gen(function* () {
      const dataDir = mkdtempSync(join(tmpdir(), "clawfleet-pglite-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
      const write = Directory.use((d) => d.departments.create(new Department({ id: "kept" as never, displayName: "Kept" })))
      const read = Directory.use((d) => d.departments.get("kept"))
      yield* write.pipe(Effect.provide(Store.layerPglite({ dataDir })))
      const again = yield* read.pipe(Effect.provide(Store.layerPglite({ dataDir })))
      assert.strictEqual(again.value.displayName, "Kept")
      assert.strictEqual(again.version, 1)
    }).pipe(Effect.scoped)
  )
})
