import { Effect } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import type { StoreError } from "../Errors.ts"
import { GENESIS_HASH } from "../internal/auditHash.ts"
import { knowledgeDdl } from "../knowledge/internal/schema.ts"
import { meteringDdl } from "../proxy/internal/meteringSchema.ts"
import { idempotencyDdl } from "./internal/idempotencySchema.ts"
import { fromSql } from "./sqlErrors.ts"
import { Filters, type Table } from "./Tables.ts"

export interface Migration {
  readonly id: number
  readonly name: string
  readonly up: (sql: SqlClient.SqlClient, schema: string) => Effect.Effect<void, SqlError.SqlError>
}

const q = (schema: string, name: string) => `"${schema}"."${name}"`

// Expression indexes must spell the expression the queries use: `data #>> '{a,b}'`.
export const pathExpr = (path: string) => `data #>> '{${path.split(".").join(",")}}'`

const recordTable = (sql: SqlClient.SqlClient, schema: string, table: Table) =>
  Effect.gen(function* () {
    yield* sql.unsafe(`create table ${q(schema, table)} (
      id text primary key,
      version integer not null,
      data jsonb not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`)
    for (const path of (Filters as Partial<Record<Table, ReadonlyArray<string>>>)[table] ?? []) {
      const name = `${table}_${path.replace(/\./g, "_")}_idx`
      yield* sql.unsafe(`create index "${name}" on ${q(schema, table)} ((${pathExpr(path)}))`)
    }
  })

// The tables the first migration made, frozen: a table added later gets a migration of its own.
const firstTables: ReadonlyArray<Table> = [
  "people",
  "teams",
  "departments",
  "tenants",
  "skills",
  "tools",
  "knowledge_bases",
  "egress_domains",
  "models",
  "grants"
]

/** Append only: a migration that shipped is never edited, a change is a new migration. */
export const migrations: ReadonlyArray<Migration> = [
  {
    id: 1,
    name: "records_and_audit",
    up: (sql, schema) =>
      Effect.gen(function* () {
        for (const table of firstTables) yield* recordTable(sql, schema, table)
        yield* sql.unsafe(`create sequence ${q(schema, "revision_seq")}`)
        yield* sql.unsafe(`create table ${q(schema, "revisions")} (tbl text primary key, rev bigint not null)`)
        yield* sql.unsafe(`create table ${q(schema, "audit_events")} (
          seq bigint primary key,
          body jsonb not null,
          prev_hash text not null,
          hash text not null
        )`)
        // One row whose lock serialises writers, so the chain is a line and never a tree.
        yield* sql.unsafe(`create table ${q(schema, "audit_head")} (
          id integer primary key check (id = 1),
          seq bigint not null,
          hash text not null
        )`)
        yield* sql.unsafe(`insert into ${q(schema, "audit_head")} (id, seq, hash) values (1, 0, '${GENESIS_HASH}')`)
      })
  },
  {
    id: 2,
    name: "claims",
    up: (sql, schema) =>
      Effect.asVoid(
        sql.unsafe(`create table ${q(schema, "claims")} (
          key text primary key,
          holder text not null,
          expires_at timestamptz not null
        )`)
      )
  },
  {
    id: 3,
    name: "virtual_keys",
    up: (sql, schema) => recordTable(sql, schema, "virtual_keys")
  },
  {
    id: 4,
    name: "metering",
    up: (sql, schema) => Effect.forEach(meteringDdl(schema), (statement) => sql.unsafe(statement), { discard: true })
  },
  {
    id: 5,
    name: "identity",
    up: (sql, schema) =>
      Effect.forEach(
        ["signing_keys", "revocation_epochs", "pairing_codes", "api_tokens", "sessions"] as const,
        (table) => recordTable(sql, schema, table),
        { discard: true }
      )
  },
  {
    id: 6,
    name: "skill_bundles",
    up: (sql, schema) => recordTable(sql, schema, "skill_bundles")
  },
  {
    id: 7,
    name: "knowledge",
    up: (sql, schema) => Effect.forEach(knowledgeDdl(schema), (statement) => sql.unsafe(statement), { discard: true })
  },
  {
    id: 8,
    name: "person_credentials",
    up: (sql, schema) => recordTable(sql, schema, "person_credentials")
  },
  {
    id: 9,
    name: "tenant_credentials",
    up: (sql, schema) => recordTable(sql, schema, "tenant_credentials")
  },
  {
    id: 10,
    name: "idempotency_keys",
    up: (sql, schema) => Effect.forEach(idempotencyDdl(schema), (statement) => sql.unsafe(statement), { discard: true })
  },
  {
    id: 11,
    name: "audit_events_by_target",
    // Spelled exactly as `SqlRecordStore.listAuditByTarget` filters, or the planner cannot use it;
    // seq last, so a page is read in order straight from the index.
    up: (sql, schema) =>
      Effect.asVoid(
        sql.unsafe(
          `create index "audit_events_target_idx" on ${q(schema, "audit_events")} ((body #>> '{target,kind}'), (body #>> '{target,id}'), seq)`
        )
      )
  }
]

export const validSchemaName = /^[a-z_][a-z0-9_]{0,62}$/

/**
 * The schema a SQL-backed service works in (default `clawfleet`), checked and brought up to date:
 * what each of them does first. A bad name is a programming error, so it dies.
 */
export const migrated = (schema = "clawfleet"): Effect.Effect<string, StoreError, SqlClient.SqlClient> =>
  validSchemaName.test(schema)
    ? Effect.as(Effect.mapError(migrate(schema), fromSql), schema)
    : Effect.die(new Error(`invalid PostgreSQL schema name "${schema}": use lower-case letters, digits and _`))

/**
 * Applies what is missing, in order, under an advisory lock so replicas starting together do not
 * race. Safe to run at every start.
 */
export const migrate = (schema: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* sql`select pg_advisory_xact_lock(hashtext(${`clawfleet.migrate.${schema}`}))`
        yield* sql.unsafe(`create schema if not exists "${schema}"`)
        yield* sql.unsafe(`create table if not exists ${q(schema, "migrations")} (
          id integer primary key,
          name text not null,
          applied_at timestamptz not null default now()
        )`)
        const applied = yield* sql.unsafe<{ id: number }>(`select id from ${q(schema, "migrations")}`)
        const done = new Set(applied.map((r) => Number(r.id)))
        for (const m of migrations) {
          if (done.has(m.id)) continue
          yield* m.up(sql, schema)
          yield* sql.unsafe(`insert into ${q(schema, "migrations")} (id, name) values ($1, $2)`, [m.id, m.name])
        }
      })
    )
  })
