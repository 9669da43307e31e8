import { Clawfleet, Fleet, SigningKeys, Tokens, withActor } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"

// The README's identity example, so it cannot rot.
describe("README: identity", () => {
  it.effect("issues, verifies and revokes a token", () =>
    Effect.gen(function* () {
      const identity = Tokens.layer({ issuer: "https://clawfleet.example.com" }).pipe(
        Layer.provideMerge(SigningKeys.layer()),
        Layer.provideMerge(Clawfleet.layerMemory)
      )
      const program = Effect.gen(function* () {
        yield* (yield* Fleet).onboardPerson({ person: { id: "ada", email: "ada@example.com", displayName: "Ada" } })
        const tokens = yield* Tokens
        const { token } = yield* tokens.issue({ audience: "clawfleet-broker", subject: "ada", person: "ada", ttlSeconds: 300 })
        const claims = yield* tokens.verify(Redacted.value(token), { audience: "clawfleet-broker" })
        yield* tokens.revokePerson("ada")
        const refused = yield* Effect.flip(tokens.verify(Redacted.value(token), { audience: "clawfleet-broker" }))
        return { subject: claims.subject, after: refused._tag === "TokenError" ? refused.reason : refused._tag }
      }).pipe(withActor("admin@example.com"))
      assert.deepStrictEqual(yield* program.pipe(Effect.provide(identity)), { subject: "ada", after: "Revoked" })
    })
  )
})
