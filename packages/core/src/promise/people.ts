import { Effect, Schema } from "effect"
import { Email } from "../domain/Names.ts"
import { decode, invalidState } from "../fleet/internal.ts"
import { makePeopleByEmail } from "../store/peopleByEmail.ts"

const Lookup = Schema.Struct({ email: Email })

/**
 * Finds a person by e-mail address, ignoring case as sign-in does.
 */
export const makeFindPersonByEmail = Effect.gen(function* () {
  const byEmail = yield* makePeopleByEmail
  return Effect.fn("Clawfleet.findPersonByEmail")(function* (email: string) {
    const { email: valid } = yield* decode(Lookup, "person lookup")({ email })
    const found = (yield* byEmail).get(valid.toLowerCase()) ?? []
    if (found.length > 1) {
      return yield* invalidState("e-mail address", valid, `belongs to more than one person (${found.map((p) => p.id).join(", ")})`)
    }
    return found[0]
  })
})
