import { Clock, Context, Effect, Exit, Semaphore } from "effect"
import { StoreError } from "../Errors.ts"
import { GENESIS_HASH, hashAuditEvent } from "../internal/auditHash.ts"
import { jsonClone } from "../internal/json.ts"
import type { AuditDraft, AuditTarget, ListQuery, Row, StoredAudit } from "./RecordStore.ts"
import { RecordStore } from "./RecordStore.ts"
import { readPath, type Table, Tables } from "./Tables.ts"

type Journal = Array<() => void>

// The undo log of the transaction this fiber runs in, if any. Writes push their inverse onto it,
// so a failure anywhere in the transaction puts every map back as it was.
const CurrentJournal = Context.Reference<Journal | undefined>("@clawfleet/core/internal/MemoryJournal", {
  defaultValue: () => undefined
})

// A write stores the JSON form, exactly as a jsonb column would: no shared references, no
// `undefined` members, dates as strings.
const asJson = jsonClone

/**
 * Builds the in-memory record store: same semantics as the SQL layers (versions, conflicts,
 * atomic transactions with the audit chain), for tests and for embedding without a database.
 * Writes are serialised by one lock, as the SQL layers serialise them on the audit head row.
 */
export const makeMemoryRecordStore = Effect.map(makeMemoryRecordStoreWithLog(), ({ store }) => store)

/** Also hands back the raw audit array: tests use it to prove that tampering is detected. */
export function makeMemoryRecordStoreWithLog() {
  return Effect.gen(function* () {
    const tables = new Map<Table, Map<string, Row>>()
    const revisions = new Map<Table, number>()
    const audit: Array<StoredAudit> = []
    // The seqs of each target's events, ascending: what the SQL store's expression index gives.
    const byTarget = new Map<string, Array<number>>()
    const targetKey = (target: AuditTarget) => JSON.stringify([target.kind, target.id])
    const lock = yield* Semaphore.make(1)
    // True while a transaction holds the lock: only then can a reader see uncommitted writes.
    let inTransaction = false
    // Claims are not records: they are not audited, versioned or rolled back.
    const claims = new Map<string, { readonly holder: string; readonly until: number }>()

    const sorted = new Map<Table, Array<string>>()
    const sortedIds = (table: Table) => {
      let ids = sorted.get(table)
      if (ids === undefined) sorted.set(table, (ids = [...tableOf(table).keys()].sort()))
      return ids
    }
    const unsort = (table: Table) => void sorted.delete(table)

    const tableOf = (table: Table) => {
      let t = tables.get(table)
      if (!t) {
        t = new Map()
        tables.set(table, t)
      }
      return t
    }

    const transaction = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | StoreError, R> =>
      Effect.flatMap(CurrentJournal, (outer: Journal | undefined) => {
        if (outer) {
          // A nested transaction is a savepoint: undo only what it did.
          const mark = outer.length
          return Effect.onExit(self, (exit) =>
            Effect.sync(() => {
              if (Exit.isFailure(exit)) for (const undo of outer.splice(mark).reverse()) undo()
            })
          )
        }
        return lock.withPermits(1)(
          Effect.suspend(() => {
            const journal: Journal = []
            inTransaction = true
            return self.pipe(
              Effect.provideService(CurrentJournal, journal),
              Effect.onExit((exit) =>
                Effect.sync(() => {
                  inTransaction = false
                  if (Exit.isFailure(exit)) for (const undo of journal.reverse()) undo()
                })
              )
            )
          })
        )
      })

    // Reads outside a transaction wait for the writer, so nobody sees what a transaction has not
    // committed (and might still undo). Inside one, a fiber reads its own writes.
    // With no transaction open, nothing uncommitted exists and a read need not queue for the lock.
    const read = <A>(f: () => A): Effect.Effect<A> =>
      Effect.flatMap(CurrentJournal, (journal: Journal | undefined) =>
        journal || !inTransaction ? Effect.sync(f) : lock.withPermits(1)(Effect.sync(f))
      )

    // Runs one write inside the current transaction (or its own), with its journal. A lone write
    // while no transaction is open runs at once: it is synchronous, so nothing can interleave.
    const write = <A>(f: (journal: Journal, now: string) => A | StoreError): Effect.Effect<A, StoreError> =>
      Effect.flatMap(CurrentJournal, (outer: Journal | undefined) => {
        if (outer === undefined && !inTransaction) {
          return Effect.flatMap(Clock.currentTimeMillis, (ms) => {
            const journal: Journal = []
            const result = f(journal, new Date(ms).toISOString())
            if (result instanceof StoreError) {
              for (const undo of journal.reverse()) undo()
              return Effect.fail(result)
            }
            return Effect.succeed(result)
          })
        }
        return transaction(
          Effect.gen(function* () {
            const journal = (yield* CurrentJournal) as Journal
            const now = new Date(yield* Clock.currentTimeMillis).toISOString()
            const result = f(journal, now)
            if (result instanceof StoreError) return yield* result
            return result
          })
        )
      })

    // Revisions come from one counter that never goes back, not even on rollback (the undo takes a
    // fresh value too): an index built from a write that was then undone must never pass for current.
    let revisionCounter = 0
    const bump = (journal: Journal, table: Table) => {
      revisions.set(table, ++revisionCounter)
      journal.push(() => revisions.set(table, ++revisionCounter))
    }

    // Kept apart from the log, as the SQL store keeps its head row: removing events from the end of
    // the log cannot move it.
    let head = { seq: 0, hash: GENESIS_HASH }
    const appendIn = (journal: Journal, now: string, draft: AuditDraft): StoredAudit => {
      const prevHash = head.hash
      const body = {
        seq: head.seq + 1,
        at: now,
        actor: draft.actor,
        action: draft.action,
        target: draft.target,
        ...(draft.before !== undefined ? { before: asJson(draft.before) } : {}),
        ...(draft.after !== undefined ? { after: asJson(draft.after) } : {}),
        ...(draft.requestId !== undefined ? { requestId: draft.requestId } : {}),
        ...(draft.decision !== undefined ? { decision: draft.decision } : {})
      }
      const event: StoredAudit = { ...body, prevHash, hash: hashAuditEvent(body, prevHash) }
      const prevHead = head
      const key = targetKey(event.target)
      let seqs = byTarget.get(key)
      if (seqs === undefined) byTarget.set(key, (seqs = []))
      audit.push(event)
      seqs.push(event.seq)
      head = { seq: event.seq, hash: event.hash }
      journal.push(() => {
        audit.pop()
        seqs.pop()
        head = prevHead
      })
      return event
    }

    const store = RecordStore.of({
      get: (table, id) => read(() => tableOf(table).get(id)),

      // Ids are kept sorted per table (re-sorted only after an insert or delete), so paging
      // through 10,000 records does not sort them 50 times.
      list: (table, query: ListQuery) =>
        read(() => {
          const t = tableOf(table)
          const ids = sortedIds(table)
          let i = 0
          if (query.after !== undefined) {
            let hi = ids.length
            while (i < hi) {
              const mid = (i + hi) >>> 1
              if (ids[mid]! <= query.after) i = mid + 1
              else hi = mid
            }
          }
          const out: Array<Row> = []
          for (; i < ids.length && out.length < query.limit; i++) {
            const r = t.get(ids[i]!)!
            if ((query.where ?? []).every(([path, value]) => readPath(r.data, path) === value)) out.push(r)
          }
          return out
        }),

      insert: (table, id, data, draft) =>
        write((journal, now) => {
          const t = tableOf(table)
          if (t.has(id)) return StoreError.alreadyExists(Tables[table], id)
          const row: Row = { id, version: 1, data: asJson(data) }
          t.set(id, row)
          unsort(table)
          journal.push(() => {
            t.delete(id)
            unsort(table)
          })
          bump(journal, table)
          if (draft) appendIn(journal, now, draft)
          return row
        }),

      update: (table, id, expectedVersion, data, draft) =>
        write((journal, now) => {
          const t = tableOf(table)
          const prev = t.get(id)
          if (!prev) return StoreError.notFound(Tables[table], id)
          if (prev.version !== expectedVersion) return StoreError.conflict(Tables[table], id, expectedVersion, prev.version)
          const row: Row = { id, version: prev.version + 1, data: asJson(data) }
          t.set(id, row)
          journal.push(() => t.set(id, prev))
          bump(journal, table)
          if (draft) appendIn(journal, now, draft)
          return row
        }),

      remove: (table, id, expectedVersion, draft) =>
        write((journal, now) => {
          const t = tableOf(table)
          const prev = t.get(id)
          if (!prev) return StoreError.notFound(Tables[table], id)
          if (prev.version !== expectedVersion) return StoreError.conflict(Tables[table], id, expectedVersion, prev.version)
          t.delete(id)
          unsort(table)
          journal.push(() => {
            t.set(id, prev)
            unsort(table)
          })
          bump(journal, table)
          if (draft) appendIn(journal, now, draft)
        }),

      transaction,

      revision: (names) => read(() => names.reduce((max, t) => Math.max(max, revisions.get(t) ?? 0), 0)),

      appendAudit: (draft) => write((journal, now) => appendIn(journal, now, draft)),

      appendAuditMany: (drafts) => write((journal, now) => drafts.map((draft) => appendIn(journal, now, draft))),

      listAudit: (afterSeq, limit) => read(() => audit.slice(Math.max(0, afterSeq), Math.max(0, afterSeq) + limit)),

      listAuditByTarget: (target, afterSeq, limit) =>
        read(() => {
          const seqs = byTarget.get(targetKey(target)) ?? []
          let lo = 0
          let hi = seqs.length
          while (lo < hi) {
            const mid = (lo + hi) >>> 1
            if (seqs[mid]! <= afterSeq) lo = mid + 1
            else hi = mid
          }
          // An event dropped behind the store's back (the tamper tests do) is simply absent.
          return seqs
            .slice(lo, lo + Math.max(0, limit))
            .map((seq) => audit[seq - 1])
            .filter((e) => e !== undefined)
        }),

      auditHead: read(() => head),

      claim: (key, holder, ttlMs) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const current = claims.get(key)
          if (current !== undefined && current.holder !== holder && current.until > now) return false
          claims.set(key, { holder, until: now + ttlMs })
          return true
        }),

      release: (key, holder) =>
        Effect.sync(() => {
          if (claims.get(key)?.holder === holder) claims.delete(key)
        })
    })
    return { store, auditLog: audit }
  })
}
