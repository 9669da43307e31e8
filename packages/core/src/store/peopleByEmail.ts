import { Effect } from "effect"
import { Directory } from "../Directory.ts"
import type { Person } from "../domain/Directory.ts"
import { RecordStore } from "./RecordStore.ts"
import { makeRevisionCache } from "./revisionCache.ts"

/**
 * Everybody indexed by lower-cased e-mail address. E-mail is not a key of the directory and
 * several people may share one, so each address maps to all of them; the index is rebuilt only
 * when somebody joins, moves or leaves.
 */
export const makePeopleByEmail = Effect.gen(function* () {
  const directory = yield* Directory
  return yield* makeRevisionCache(
    yield* RecordStore,
    ["people"],
    Effect.map(directory.people.all, (rows) => {
      const index = new Map<string, Array<Person>>()
      for (const { value } of rows) {
        const key = value.email.toLowerCase()
        index.set(key, [...(index.get(key) ?? []), value])
      }
      return index
    })
  )
})
