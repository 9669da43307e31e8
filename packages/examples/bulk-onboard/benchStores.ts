import { Clawfleet, Store } from "@clawfleet/core"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"

export const storeNames = ["memory", "pglite", "pg"] as const
export type StoreName = (typeof storeNames)[number]

/**
 * A real PostgreSQL server, in a schema of its own that is dropped when the layer is released, so
 * runs neither see each other's rows nor leave any behind.
 */
const pgFleet = (url: string) =>
  Layer.unwrap(
    Effect.map(
      // Loaded only for this store, as the core's own PostgreSQL layer loads it.
      Effect.promise(() => import("@effect/sql-pg")),
      ({ PgClient }) => {
        const schema = `bulk_onboard_bench_${process.pid}_${Date.now().toString(36)}`
        const dropSchema = Layer.effectDiscard(
          Effect.addFinalizer(() =>
            SqlClient.SqlClient.use((sql) => sql.unsafe(`drop schema if exists "${schema}" cascade`)).pipe(Effect.orDie)
          )
        )
        const client = PgClient.layer({ url: Redacted.make(url), maxConnections: 10, applicationName: "bulk-onboard-bench" })
        return Clawfleet.layer(Layer.mergeAll(Store.layerSql({ schema }), dropSchema).pipe(Layer.provideMerge(client), Layer.orDie))
      }
    )
  )

/** Every Fleet service over the named store; PGlite keeps its database in memory. */
export const fleetOn = (store: StoreName, pgUrl: string | undefined) => {
  switch (store) {
    case "memory":
      return Clawfleet.layerMemory
    case "pglite":
      return Clawfleet.layerPglite()
    case "pg":
      if (pgUrl === undefined) throw new Error("--store pg needs --pg-url, CLAWFLEET_BENCH_PG_URL or CLAWFLEET_TEST_PG_URL")
      return pgFleet(pgUrl)
  }
}
