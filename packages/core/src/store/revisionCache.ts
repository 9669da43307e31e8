import { Effect, Semaphore } from "effect"
import type { StoreError } from "../Errors.ts"
import type { RecordStore } from "./RecordStore.ts"
import type { Table } from "./Tables.ts"

/**
 * A value derived from some tables, rebuilt only when their revision moves. Revisions never come
 * back to an old value, so a hit is always current as of the revision read. One rebuild runs at a
 * time; callers that waited find it done.
 */
export const makeRevisionCache = <A, E, R>(
  store: RecordStore["Service"],
  tables: ReadonlyArray<Table>,
  build: Effect.Effect<A, E, R>
): Effect.Effect<Effect.Effect<A, E | StoreError, R>> =>
  Effect.map(Semaphore.make(1), (lock) => {
    let cached: { readonly revision: number; readonly value: A } | undefined
    return Effect.gen(function* () {
      const revision = yield* store.revision(tables)
      if (cached?.revision === revision) return cached.value
      return yield* lock.withPermits(1)(
        Effect.gen(function* () {
          const again = yield* store.revision(tables)
          if (cached !== undefined && cached.revision === again) return cached.value
          const value = yield* build
          cached = { revision: again, value }
          return value
        })
      )
    })
  })
