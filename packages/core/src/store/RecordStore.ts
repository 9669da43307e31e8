import { Context, type Effect } from "effect"
import type { StoreError } from "../Errors.ts"
import type { AuditBody } from "../internal/auditHash.ts"
import type { Table } from "./Tables.ts"

/** A stored record: JSON data with the version that guards every write to it. */
export interface Row {
  readonly id: string
  readonly version: number
  readonly data: unknown
}

export interface ListQuery {
  /** Return ids strictly greater than this one (keyset pagination). */
  readonly after?: string | undefined
  readonly limit: number
  /** Equality filters on JSON paths; only paths listed in `Filters` are indexed. */
  readonly where?: ReadonlyArray<readonly [path: string, value: string]> | undefined
}

/** What an audit event is about: a record's kind (usually its table) and id. */
export interface AuditTarget {
  readonly kind: string
  readonly id: string
}

/** What a write says about itself for the audit log; the store fills in seq, time and hashes. */
export interface AuditDraft {
  readonly actor: string
  readonly action: string
  readonly target: AuditTarget
  readonly before?: unknown
  readonly after?: unknown
  readonly requestId?: string | undefined
  readonly decision?: string | undefined
}

export interface StoredAudit extends AuditBody {
  readonly prevHash: string
  readonly hash: string
}

/**
 * The narrow storage contract every store layer implements: versioned JSON records per table, an
 * audit log appended in the same transaction as the write it describes, and a revision counter per
 * table so caches (the grants index) know when to rebuild. Repositories are built on top of it, so
 * the memory, PostgreSQL and PGlite layers share every rule above this line.
 */
export class RecordStore extends Context.Service<
  RecordStore,
  {
    readonly get: (table: Table, id: string) => Effect.Effect<Row | undefined, StoreError>
    readonly list: (table: Table, query: ListQuery) => Effect.Effect<ReadonlyArray<Row>, StoreError>
    /** Fails with AlreadyExists when the id is taken. */
    readonly insert: (table: Table, id: string, data: unknown, audit?: AuditDraft) => Effect.Effect<Row, StoreError>
    /** Fails with Conflict when the stored version is not `expectedVersion`, NotFound when absent. */
    readonly update: (
      table: Table,
      id: string,
      expectedVersion: number,
      data: unknown,
      audit?: AuditDraft
    ) => Effect.Effect<Row, StoreError>
    readonly remove: (table: Table, id: string, expectedVersion: number, audit?: AuditDraft) => Effect.Effect<void, StoreError>
    /** Runs `self` atomically: all of its writes and audit events commit together or not at all. */
    readonly transaction: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StoreError, R>
    /**
     * A number that changes whenever any of the tables is written, and never comes back to a value
     * it had (not even after a rollback), so it can key a cache.
     */
    readonly revision: (tables: ReadonlyArray<Table>) => Effect.Effect<number, StoreError>
    /** Appends an event that describes no write of its own (a decision, a sign-in). */
    readonly appendAudit: (draft: AuditDraft) => Effect.Effect<StoredAudit, StoreError>
    /**
     * Appends events, in order, in one transaction: a proxy auditing a decision per connection
     * gathers them, so the chain's one lock is taken once per batch rather than per event.
     */
    readonly appendAuditMany: (drafts: ReadonlyArray<AuditDraft>) => Effect.Effect<ReadonlyArray<StoredAudit>, StoreError>
    readonly listAudit: (afterSeq: number, limit: number) => Effect.Effect<ReadonlyArray<StoredAudit>, StoreError>
    /**
     * The events whose target is exactly `target`, oldest first, with seq above `afterSeq`. Indexed
     * by target, so one thing's history costs its own length, not the whole log's.
     */
    readonly listAuditByTarget: (
      target: AuditTarget,
      afterSeq: number,
      limit: number
    ) => Effect.Effect<ReadonlyArray<StoredAudit>, StoreError>
    /**
     * Claims `key` for `holder` until `ttlMs` from now, unless another holder's claim is still
     * live. True when the caller holds it. Replicas use it so one tenant is worked on by one of
     * them at a time; a crashed holder's claim simply expires.
     */
    readonly claim: (key: string, holder: string, ttlMs: number) => Effect.Effect<boolean, StoreError>
    /** Gives up a claim early; releasing what one does not hold does nothing. */
    readonly release: (key: string, holder: string) => Effect.Effect<void, StoreError>
    /** The last event's seq and hash, kept apart from the log so a truncated log shows. */
    readonly auditHead: Effect.Effect<{ readonly seq: number; readonly hash: string }, StoreError>
  }
>()("@clawfleet/core/RecordStore") {}
