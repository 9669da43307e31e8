import { type RecordStore, type StoreError, type Table, Text, type Versioned } from "@clawfleet/core"
import { Effect, Schema } from "effect"

/**
 * Keyset pagination for every list: items come in id order, `?limit=` of them (1–1000, default
 * 100), and `next` is the last id of the page when more may follow. Pass it back as `?after=`.
 * Ids are stable, so a list walked while others write never repeats an item, and an item
 * created behind the cursor is simply not seen in this walk.
 */

export const DEFAULT_LIMIT = 100
export const MAX_LIMIT = 1000

export const Limit = Schema.Int.check(
  Schema.isBetween({ minimum: 1, maximum: MAX_LIMIT }, { message: `must be a whole number from 1 to ${MAX_LIMIT}` })
)

/** The query fields every list takes. */
export const pageQuery = {
  /** The `next` of the previous page. */
  after: Schema.optionalKey(Text(256)),
  limit: Schema.optionalKey(Limit)
}

export interface PageRequest {
  readonly after?: string | undefined
  readonly limit?: number | undefined
}

export const Page = <S extends Schema.Top>(item: S) =>
  Schema.Struct({
    items: Schema.Array(item),
    /** Present when there may be more: pass it as `?after=`. */
    next: Schema.optionalKey(Schema.String)
  })

export interface PageOf<A> {
  readonly items: ReadonlyArray<A>
  readonly next?: string
}

const finish = <A>(items: ReadonlyArray<A>, limit: number, idOf: (a: A) => string): PageOf<A> =>
  items.length > limit ? { items: items.slice(0, limit), next: idOf(items[limit - 1]!) } : { items }

/**
 * One page of a table straight from the store, which pages by id (`after`) natively. The store
 * row is decoded with the same schema its repository writes with; a row that no longer decodes
 * is a defect, as it is for the repository.
 */
export const storePage = <S extends Schema.Codec<any, any, never, never>>(
  store: RecordStore["Service"],
  table: Table,
  schema: S,
  request: PageRequest,
  where: ReadonlyArray<readonly [string, string]> = []
): Effect.Effect<PageOf<Versioned<S["Type"]>>, StoreError> =>
  Effect.gen(function* () {
    const limit = request.limit ?? DEFAULT_LIMIT
    const rows = yield* store.list(table, { after: request.after, limit: limit + 1, where })
    const decode = Schema.decodeUnknownSync(schema)
    const page = finish(rows, limit, (row) => row.id)
    return {
      items: page.items.map((row) => ({ value: decode(row.data) as S["Type"], version: row.version })),
      ...(page.next !== undefined ? { next: page.next } : {})
    }
  })

/**
 * The same page over items already in memory (the union of a team administrator's teams):
 * sorted by id, after the cursor, at most `limit`.
 */
export const memoryPage = <A>(all: ReadonlyArray<A>, idOf: (a: A) => string, request: PageRequest): PageOf<A> => {
  const limit = request.limit ?? DEFAULT_LIMIT
  const after = request.after
  const sorted = [...all].sort((a, b) => (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0))
  return finish(after === undefined ? sorted : sorted.filter((a) => idOf(a) > after), limit, idOf)
}

/** Drops the versions: list items are plain records; `GET` of one gives its ETag. */
export const values = <A>(page: PageOf<Versioned<A>>): PageOf<A> => ({
  items: page.items.map((v) => v.value),
  ...(page.next !== undefined ? { next: page.next } : {})
})
