import { Effect, Schema } from "effect"
import { Directory } from "../Directory.ts"
import type { Person } from "../domain/Directory.ts"
import { Email } from "../domain/Names.ts"
import { decode, invalidState } from "../fleet/internal.ts"
import { RecordStore } from "../store/RecordStore.ts"
import { makeRevisionCache } from "../store/revisionCache.ts"

const Lookup = Schema.Struct({ email: Email })

/**
 * Finds a person by e-mail address, ignoring case as sign-in does. E-mail is not a key of the
 * directory, so this reads an index of everybody, rebuilt only when somebody joins, moves or leaves.
 */
export const makeFindPersonByEmail = Effect.gen(function* () {
  const directory = yield* Directory
  const byEmail = yield* makeRevisionCache(
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
  return Effect.fn("Clawfleet.findPersonByEmail")(function* (email: string) {
    const { email: valid } = yield* decode(Lookup, "person lookup")({ email })
    const found = (yield* byEmail).get(valid.toLowerCase()) ?? []
    if (found.length > 1) {
      return yield* invalidState("e-mail address", valid, `belongs to more than one person (${found.map((p) => p.id).join(", ")})`)
    }
    return found[0]
  })
})
