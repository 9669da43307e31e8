import { assert, describe, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Clawfleet, Fleet, withActor } from "@clawfleet/core"

layer(Clawfleet.layerMemory)("Fleet (memory)", (it) => {
  it.effect("onboards a person with an assistant", () =>
    Effect.gen(function* () {
      const fleet = yield* Fleet
      const { person, tenant } = yield* fleet
        .onboardPerson({ person: { id: "ada", email: "ada@example.com", displayName: "Ada" } })
        .pipe(withActor("admin@example.com"))
      assert.strictEqual(person.id, "ada")
      assert.strictEqual(tenant?.name, "ada")
      assert.strictEqual(tenant?.generation, 1)
    }))
})
