import { Effect, Schema } from "effect"
import { Corrupt, StoreError, ValidationError } from "../Errors.ts"
import { auditDraft } from "./auditDraft.ts"
import { RecordStore } from "./RecordStore.ts"
import { type FilterPath, type Table, Tables } from "./Tables.ts"

/** A value with the version a later write must present. */
export interface Versioned<A> {
  readonly value: A
  readonly version: number
}

export interface PageRequest {
  /** 1 to 1000; 100 when absent. */
  readonly limit?: number | undefined
  /** The `next` of the previous page. */
  readonly cursor?: string | undefined
}

export interface Page<A> {
  readonly items: ReadonlyArray<Versioned<A>>
  /** Present when there may be more: pass it as `cursor`. */
  readonly next?: string | undefined
}

export const DEFAULT_PAGE_SIZE = 100
export const MAX_PAGE_SIZE = 1000

export interface Repository<A, T extends Table = Table> {
  readonly get: (id: string) => Effect.Effect<Versioned<A>, StoreError>
  readonly find: (id: string) => Effect.Effect<Versioned<A> | undefined, StoreError>
  /** Fails with a ValidationError for a limit outside 1–1000 or a cursor it did not hand out. */
  readonly list: (
    request?: PageRequest & { readonly where?: Partial<Record<FilterPath<T>, string>> }
  ) => Effect.Effect<Page<A>, StoreError | ValidationError>
  /** Every record, read page by page (for building indexes, not for request paths). */
  readonly all: Effect.Effect<ReadonlyArray<Versioned<A>>, StoreError>
  /** Every record matching the filter, read page by page. */
  readonly allWhere: (where: Partial<Record<FilterPath<T>, string>>) => Effect.Effect<ReadonlyArray<Versioned<A>>, StoreError>
  readonly create: (value: A, options?: { readonly action?: string }) => Effect.Effect<Versioned<A>, StoreError>
  readonly update: (
    value: A,
    expectedVersion: number,
    options?: { readonly action?: string; readonly audit?: boolean }
  ) => Effect.Effect<Versioned<A>, StoreError>
  readonly remove: (id: string, expectedVersion: number) => Effect.Effect<void, StoreError>
  /**
   * Reads, applies `f` and writes in one transaction, so concurrent `modify` calls queue instead
   * of conflicting: none is lost and none needs a retry. Use `update` with the version you showed
   * a person (If-Match) when their edit must fail if the record moved on.
   */
  readonly modify: (
    id: string,
    f: (current: A) => A,
    options?: { readonly action?: string; readonly audit?: boolean }
  ) => Effect.Effect<Versioned<A>, StoreError>
}

const encodeCursor = (id: string) => Buffer.from(`${CURSOR_PREFIX}${id}`, "utf8").toString("base64url")
const CURSOR_PREFIX = "c1:"

const decodeCursor = (cursor: string): string | undefined => {
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(cursor)) return undefined
  const text = Buffer.from(cursor, "base64url").toString("utf8")
  return text.startsWith(CURSOR_PREFIX) ? text.slice(CURSOR_PREFIX.length) : undefined
}

const pageError = (path: string, message: string) => new ValidationError({ subject: "page request", issues: [{ path, message }] })

/** Derives a typed, audited repository for one table from the record store. */
export const makeRepository = <S extends Schema.Codec<any, any, never, never>, T extends Table>(
  table: T,
  schema: S,
  idOf: (value: S["Type"]) => string,
  options?: {
    /** A faster encoder for a hot table; must return exactly what the schema's encoder returns. */
    readonly encode?: (value: S["Type"]) => unknown
  }
) =>
  Effect.gen(function* () {
    type A = S["Type"]
    const store = yield* RecordStore
    const entity = Tables[table]
    const encode = options?.encode ?? Schema.encodeSync(schema)
    // The memory store hands out the same row object until the record is written again, so a
    // decoded value can be kept with it; SQL rows are new objects every time and simply miss.
    const decoded = new WeakMap<object, Versioned<A>>()
    const decodeRow = (row: { id: string; version: number; data: unknown }): Effect.Effect<Versioned<A>, StoreError> => {
      const hit = decoded.get(row)
      if (hit !== undefined) return Effect.succeed(hit)
      return Schema.decodeUnknownEffect(schema)(row.data).pipe(
        Effect.map((value): Versioned<A> => {
          const v = { value, version: row.version }
          decoded.set(row, v)
          return v
        }),
        Effect.mapError((e) => new StoreError({ reason: new Corrupt({ entity, id: row.id, detail: e.message }) }))
      )
    }

    // What was just written needs no decoding when it is read back: it was encoded from `value`.
    const remember = (row: { version: number }, value: A): Versioned<A> => {
      const v = { value, version: row.version }
      decoded.set(row, v)
      return v
    }

    const draft = (action: string, id: string, before: unknown, after: unknown) =>
      auditDraft(action, { kind: entity, id }, { before, after })

    const find = (id: string) => Effect.flatMap(store.get(table, id), (row) => (row ? decodeRow(row) : Effect.succeed(undefined)))

    const list = Effect.fnUntraced(function* (request: PageRequest & { readonly where?: Partial<Record<string, string>> } = {}) {
      const limit = request.limit ?? DEFAULT_PAGE_SIZE
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
        return yield* pageError("limit", `must be a whole number from 1 to ${MAX_PAGE_SIZE}`)
      }
      const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor)
      if (request.cursor !== undefined && after === undefined) {
        return yield* pageError("cursor", "is not a cursor this list handed out; pass the `next` of the previous page")
      }
      const where = Object.entries(request.where ?? {}).filter((e): e is [string, string] => typeof e[1] === "string")
      // Ask for one more than a page: it tells whether a next page exists without a count.
      const rows = yield* store.list(table, {
        after,
        limit: limit + 1,
        where
      })
      const items = yield* Effect.forEach(rows.slice(0, limit), decodeRow)
      return rows.length > limit ? { items, next: encodeCursor(rows[limit - 1]!.id) } : { items }
    })

    const allWhere = (where: Partial<Record<string, string>> = {}) =>
      Effect.gen(function* () {
        const out: Array<Versioned<A>> = []
        let cursor: string | undefined
        do {
          // Our own limit and cursors are always valid: a ValidationError here would be a bug.
          const page: Page<A> = yield* Effect.catchTag(list({ limit: MAX_PAGE_SIZE, cursor, where }), "ValidationError", Effect.die)
          out.push(...page.items)
          cursor = page.next
        } while (cursor !== undefined)
        return out
      })

    const repo: Repository<A, T> = {
      modify: (id, f, options) =>
        store.transaction(
          Effect.gen(function* () {
            const current = yield* repo.get(id)
            const next = f(current.value)
            if (idOf(next) !== id) {
              return yield* Effect.die(new Error(`${entity} "${id}": modify must not change the id (got "${idOf(next)}")`))
            }
            return yield* repo.update(next, current.version, options)
          })
        ),
      get: (id) => Effect.flatMap(find(id), (v) => (v ? Effect.succeed(v) : Effect.fail(StoreError.notFound(entity, id)))),
      find,
      list: list as Repository<A, T>["list"],
      all: allWhere(),
      allWhere: allWhere as Repository<A, T>["allWhere"],
      create: (value, options) =>
        Effect.gen(function* () {
          const data = encode(value)
          const id = idOf(value)
          const row = yield* store.insert(table, id, data, yield* draft(options?.action ?? `${table}.create`, id, undefined, data))
          return remember(row, value)
        }),
      // The version check before the write is also what makes `before` exact: a write only lands
      // on the version that was read. Doomed writes fail here, without queueing for the write lock.
      update: (value, expectedVersion, options) =>
        Effect.gen(function* () {
          const id = idOf(value)
          const data = encode(value)
          // Unaudited writes need no `before`: the store's own version check is enough.
          if (options?.audit === false) return remember(yield* store.update(table, id, expectedVersion, data), value)
          const before = yield* store.get(table, id)
          if (before === undefined) return yield* StoreError.notFound(entity, id)
          if (before.version !== expectedVersion) return yield* StoreError.conflict(entity, id, expectedVersion, before.version)
          const audit = yield* draft(options?.action ?? `${table}.update`, id, before.data, data)
          const row = yield* store.update(table, id, expectedVersion, data, audit)
          return remember(row, value)
        }),
      remove: (id, expectedVersion) =>
        Effect.gen(function* () {
          const before = yield* store.get(table, id)
          if (before === undefined) return yield* StoreError.notFound(entity, id)
          if (before.version !== expectedVersion) return yield* StoreError.conflict(entity, id, expectedVersion, before.version)
          yield* store.remove(table, id, expectedVersion, yield* draft(`${table}.delete`, id, before.data, undefined))
        })
    }
    return repo
  })
