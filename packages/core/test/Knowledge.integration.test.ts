import { Store } from "@clawfleet/core"
import { knowledgeConformance } from "@clawfleet/core/testing"
import { PgClient } from "@effect/sql-pg"
import { describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { Knowledge } from "../src/knowledge/Knowledge.ts"

knowledgeConformance("pglite (in memory)", Knowledge.layerSql({ schema: "clawfleet" }).pipe(Layer.provideMerge(Store.pgliteClient())))

const pgUrl = process.env.CLAWFLEET_TEST_PG_URL
if (pgUrl === undefined) {
  describe("knowledge conformance: postgres", () => {
    it.skip("needs a PostgreSQL server: set CLAWFLEET_TEST_PG_URL (for example postgres://postgres@127.0.0.1:5432/test); .ci/run sets it", () => {})
  })
} else {
  // A schema of its own per run, dropped afterwards, so runs never see each other's rows.
  const schema = `cf_knowledge_${process.pid}_${Date.now().toString(36)}`
  const dropSchema = Layer.effectDiscard(
    Effect.addFinalizer(() => SqlClient.SqlClient.use((sql) => sql.unsafe(`drop schema if exists "${schema}" cascade`)).pipe(Effect.orDie))
  )
  knowledgeConformance(
    "postgres",
    Layer.mergeAll(Knowledge.layerSql({ schema }), dropSchema).pipe(
      Layer.provideMerge(PgClient.layer({ url: Redacted.make(pgUrl), maxConnections: 4 }))
    )
  )
}
