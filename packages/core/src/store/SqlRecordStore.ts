import { Clock, Effect } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { StoreError } from "../Errors.ts"
import { hashAuditEvent } from "../internal/auditHash.ts"
import { jsonClone } from "../internal/json.ts"
import { migrated, pathExpr } from "./Migrations.ts"
import { type AuditDraft, RecordStore, type Row, type StoredAudit } from "./RecordStore.ts"
import { fromSql, isSqlError } from "./sqlErrors.ts"
import { Filters, type Table, Tables } from "./Tables.ts"

const indexedPaths = new Set(Object.values(Filters).flat())

interface AuditRow {
  readonly body: unknown
  readonly prev_hash: string
  readonly hash: string
}

/**
 * The record store over any PostgreSQL `SqlClient` (a server through `@effect/sql-pg`, or PGlite
 * through its socket). All tables live in one schema (default `clawfleet`) so the store can share
 * a database with the application that embeds it.
 */
export const makeSqlRecordStore = (options: { readonly schema?: string | undefined } = {}) =>
  Effect.gen(function* () {
    const schema = yield* migrated(options.schema)
    const sql = yield* SqlClient.SqlClient

    const t = (table: Table) => sql(`${schema}.${table}`)
    const head = sql(`${schema}.audit_head`)
    const events = sql(`${schema}.audit_events`)
    const revisionsTable = sql(`${schema}.revisions`)
    const claimsTable = sql(`${schema}.claims`)

    const transaction = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, SqlError.SqlError> | StoreError, R> =>
      sql
        .withTransaction(Effect.andThen(lockHead, self))
        .pipe(Effect.mapError((e) => (isSqlError(e) ? fromSql(e) : (e as Exclude<E, SqlError.SqlError>))))

    // Every writing transaction takes this lock first: writers queue in one order, so they can
    // neither deadlock nor fork the audit chain.
    const lockHead = Effect.asVoid(sql`select seq from ${head} where id = 1 for update`)

    // Call inside `transaction`, which holds the head row: the events extend the chain in order.
    const appendManyIn = (drafts: ReadonlyArray<AuditDraft>) =>
      Effect.gen(function* () {
        const [cur] = yield* sql<{ seq: string | number; hash: string }>`select seq, hash from ${head} where id = 1`
        const at = new Date(yield* Clock.currentTimeMillis).toISOString()
        let seq = Number(cur!.seq)
        let prevHash = cur!.hash
        const out: Array<StoredAudit> = []
        for (const draft of drafts) {
          seq += 1
          const body = {
            seq,
            at,
            actor: draft.actor,
            action: draft.action,
            target: draft.target,
            ...(draft.before !== undefined ? { before: draft.before } : {}),
            ...(draft.after !== undefined ? { after: draft.after } : {}),
            ...(draft.requestId !== undefined ? { requestId: draft.requestId } : {}),
            ...(draft.decision !== undefined ? { decision: draft.decision } : {})
          }
          // Hash what jsonb will hand back, not what we were given.
          const stored = jsonClone(body) as typeof body
          const hash = hashAuditEvent(stored, prevHash)
          out.push({ ...stored, prevHash, hash })
          prevHash = hash
        }
        if (out.length === 0) return out
        const rows = out.map(({ prevHash: prev_hash, hash, ...body }) => ({ seq: body.seq, body: JSON.stringify(body), prev_hash, hash }))
        yield* sql`insert into ${events} ${sql.insert(rows as [(typeof rows)[number], ...typeof rows])}`
        yield* sql`update ${head} set seq = ${seq}, hash = ${prevHash} where id = 1`
        return out
      })

    const appendIn = (draft: AuditDraft) => Effect.map(appendManyIn([draft]), (events) => events[0]!)

    // Values come from a sequence, which a rollback does not rewind: a revision seen inside a
    // transaction that was rolled back is never handed out again.
    const bump = (table: Table) =>
      sql`insert into ${revisionsTable} (tbl, rev) values (${table}, nextval(${`${schema}.revision_seq`}::regclass))
          on conflict (tbl) do update set rev = excluded.rev`

    const currentVersion = (table: Table, id: string) =>
      Effect.map(sql<{ version: number }>`select version from ${t(table)} where id = ${id}`, (rows) => rows[0]?.version)

    const staleOrMissing = (table: Table, id: string, expectedVersion: number) =>
      Effect.flatMap(currentVersion(table, id), (actual) =>
        Effect.fail(
          actual === undefined ? StoreError.notFound(Tables[table], id) : StoreError.conflict(Tables[table], id, expectedVersion, actual)
        )
      )

    const readAudit = (query: Effect.Effect<ReadonlyArray<AuditRow>, SqlError.SqlError>) =>
      query.pipe(
        Effect.map((rows) =>
          rows.map((r) => {
            const body = (typeof r.body === "string" ? JSON.parse(r.body) : r.body) as StoredAudit
            return { ...body, prevHash: r.prev_hash, hash: r.hash }
          })
        ),
        Effect.mapError(fromSql)
      )

    const toRow = (r: { id: string; version: number; data: unknown }): Row => ({
      id: r.id,
      version: Number(r.version),
      data: typeof r.data === "string" ? JSON.parse(r.data) : r.data
    })

    return RecordStore.of({
      get: (table, id) =>
        sql<{ id: string; version: number; data: unknown }>`select id, version, data from ${t(table)} where id = ${id}`.pipe(
          Effect.map((rows) => (rows[0] ? toRow(rows[0]) : undefined)),
          Effect.mapError(fromSql)
        ),

      list: (table, query) => {
        const bad = (query.where ?? []).find(([path]) => !indexedPaths.has(path as never))
        if (bad) return Effect.die(new Error(`"${bad[0]}" is not a filterable path of ${table}`))
        const conds = [
          ...(query.after !== undefined ? [sql`id > ${query.after}`] : []),
          ...(query.where ?? []).map(([path, value]) => sql`${sql.literal(pathExpr(path))} = ${value}`)
        ]
        const where = conds.length > 0 ? sql`where ${sql.and(conds)}` : sql``
        return sql<{
          id: string
          version: number
          data: unknown
        }>`select id, version, data from ${t(table)} ${where} order by id limit ${query.limit}`.pipe(
          Effect.map((rows) => rows.map(toRow)),
          Effect.mapError(fromSql)
        )
      },

      insert: (table, id, data, draft) =>
        transaction(
          Effect.gen(function* () {
            const rows = yield* sql`insert into ${t(table)} (id, version, data) values (${id}, 1, ${JSON.stringify(data)}::jsonb)
              on conflict (id) do nothing returning id`
            if (rows.length === 0) return yield* Effect.fail(StoreError.alreadyExists(Tables[table], id))
            yield* bump(table)
            if (draft) yield* appendIn(draft)
            return { id, version: 1, data: jsonClone(data) } satisfies Row
          })
        ),

      update: (table, id, expectedVersion, data, draft) =>
        transaction(
          Effect.gen(function* () {
            const rows = yield* sql<{ version: number }>`update ${t(table)}
              set data = ${JSON.stringify(data)}::jsonb, version = version + 1, updated_at = now()
              where id = ${id} and version = ${expectedVersion} returning version`
            if (rows.length === 0) return yield* staleOrMissing(table, id, expectedVersion)
            yield* bump(table)
            if (draft) yield* appendIn(draft)
            return { id, version: Number(rows[0]!.version), data: jsonClone(data) } satisfies Row
          })
        ),

      remove: (table, id, expectedVersion, draft) =>
        transaction(
          Effect.gen(function* () {
            const rows = yield* sql`delete from ${t(table)} where id = ${id} and version = ${expectedVersion} returning id`
            if (rows.length === 0) return yield* staleOrMissing(table, id, expectedVersion)
            yield* bump(table)
            if (draft) yield* appendIn(draft)
          })
        ),

      transaction,

      revision: (tables) =>
        sql<{
          rev: string | null
        }>`select coalesce(max(rev), 0)::text as rev from ${revisionsTable} where tbl in ${sql.in(tables as Array<string>)}`.pipe(
          Effect.map((rows) => Number(rows[0]?.rev ?? 0)),
          Effect.mapError(fromSql)
        ),

      appendAudit: (draft) => transaction(appendIn(draft)),

      appendAuditMany: (drafts) => (drafts.length === 0 ? Effect.succeed([]) : transaction(appendManyIn(drafts))),

      // One statement decides: the row lock of the upsert makes concurrent claimers queue, and the
      // WHERE lets the update through only for an expired claim or the holder's own.
      claim: (key, holder, ttlMs) =>
        sql<{ holder: string }>`insert into ${claimsTable} (key, holder, expires_at)
      values (${key}, ${holder}, now() + ${ttlMs} * interval '1 millisecond')
      on conflict (key) do update set holder = excluded.holder, expires_at = excluded.expires_at
      where ${claimsTable}.expires_at < now() or ${claimsTable}.holder = excluded.holder
      returning holder`.pipe(
          Effect.map((rows) => rows.length === 1),
          Effect.mapError(fromSql)
        ),

      release: (key, holder) =>
        sql`delete from ${claimsTable} where key = ${key} and holder = ${holder}`.pipe(Effect.asVoid, Effect.mapError(fromSql)),

      auditHead: sql<{ seq: string | number; hash: string }>`select seq, hash from ${head} where id = 1`.pipe(
        Effect.map((rows) => ({ seq: Number(rows[0]!.seq), hash: rows[0]!.hash })),
        Effect.mapError(fromSql)
      ),

      listAudit: (afterSeq, limit) =>
        readAudit(sql<AuditRow>`select body, prev_hash, hash from ${events} where seq > ${afterSeq} order by seq limit ${limit}`),

      // The expressions are those of migration 11's index, character for character.
      listAuditByTarget: (target, afterSeq, limit) =>
        readAudit(sql<AuditRow>`select body, prev_hash, hash from ${events}
          where body #>> '{target,kind}' = ${target.kind} and body #>> '{target,id}' = ${target.id} and seq > ${afterSeq}
          order by seq limit ${limit}`)
    })
  })
