import { Effect, Layer, Redacted } from "effect"
import type { SqlClient } from "effect/sql"
import { Audit } from "./Audit.ts"
import { Catalog } from "./Catalog.ts"
import { Directory } from "./Directory.ts"
import { makeMemoryRecordStore } from "./store/MemoryRecordStore.ts"
import { RecordStore } from "./store/RecordStore.ts"
import { makeSqlRecordStore } from "./store/SqlRecordStore.ts"
import { Tenants } from "./Tenants.ts"

/** Every store service a layer below provides. */
export type Services = RecordStore | Directory | Catalog | Tenants | Audit

const repositories = Layer.mergeAll(Directory.layer, Catalog.layer, Tenants.layer, Audit.layer)

/** The repositories over any `RecordStore` layer: use it to plug in a store of your own. */
export const layerFromRecordStore = <E, R>(recordStore: Layer.Layer<RecordStore, E, R>) =>
  repositories.pipe(Layer.provideMerge(recordStore))

/** In process memory: for tests, examples and embedding without a database. */
export const layerMemory: Layer.Layer<Services> = layerFromRecordStore(Layer.effect(RecordStore, makeMemoryRecordStore))

export interface SqlOptions {
  /** The PostgreSQL schema that holds clawfleet's tables; created when missing. Default `clawfleet`. */
  readonly schema?: string | undefined
}

/** Over a `SqlClient` you provide (for example one your application already has). Migrates at start. */
export const layerSql = (options: SqlOptions = {}): Layer.Layer<Services, never, SqlClient.SqlClient> =>
  layerFromRecordStore(Layer.effect(RecordStore, Effect.orDie(makeSqlRecordStore(options))))

export interface PgOptions extends SqlOptions {
  /** `postgres://user:pass@host:5432/db` */
  readonly url: string | Redacted.Redacted<string>
  /** Pool size; default 10. */
  readonly maxConnections?: number | undefined
}

/** A PostgreSQL server through `@effect/sql-pg` (loaded only when this layer is used). */
export const layerPg = (options: PgOptions): Layer.Layer<Services> =>
  Layer.unwrap(
    Effect.map(
      Effect.promise(() => import("@effect/sql-pg")),
      ({ PgClient }) =>
        layerSql(options).pipe(
          Layer.provide(
            PgClient.layer({
              url: typeof options.url === "string" ? Redacted.make(options.url) : options.url,
              maxConnections: options.maxConnections ?? 10,
              applicationName: "clawfleet"
            })
          ),
          Layer.orDie
        )
    )
  )

export interface PgliteOptions extends SqlOptions {
  /** A directory to keep the database in; in memory when absent. */
  readonly dataDir?: string | undefined
}

/**
 * A `SqlClient` (and `PgClient`) for embedded PostgreSQL (PGlite), spoken to over its socket by the
 * same client as a real server, so it runs the very same SQL. PGlite is one session, hence one
 * connection. PGlite and the client are loaded only when this layer is built.
 */
export const pgliteClient = (options: { readonly dataDir?: string | undefined } = {}) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const [{ PGlite }, { PGLiteSocketServer }, { PgClient }] = yield* Effect.promise(() =>
        Promise.all([import("@electric-sql/pglite"), import("@electric-sql/pglite-socket"), import("@effect/sql-pg")])
      )
      const db = yield* Effect.acquireRelease(
        Effect.promise(() => PGlite.create(options.dataDir)),
        (db) => Effect.promise(() => db.close())
      )
      const server = yield* Effect.acquireRelease(
        Effect.promise(async () => {
          const s = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 1 })
          await s.start()
          return s
        }),
        (s) => Effect.promise(() => s.stop())
      )
      const [host, port] = server.getServerConn().split(":")
      return PgClient.layer({
        host: host ?? "127.0.0.1",
        port: Number(port),
        database: "postgres",
        username: "postgres",
        maxConnections: 1
      })
    })
  )

/** Embedded PostgreSQL (PGlite), in a directory or in memory. */
export const layerPglite = (options: PgliteOptions = {}): Layer.Layer<Services> =>
  layerSql(options).pipe(Layer.provide(pgliteClient(options)), Layer.orDie)
