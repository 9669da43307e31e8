import { Clawfleet, EgressProxy, Fleet, Metering, TenantGate, TokenProxy, VirtualKeys, withActor } from "@clawfleet/core"
import { FakeLlm } from "@clawfleet/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"

// The README's proxy example, with the fake upstream in place of api.openai.com, so it cannot rot.
describe("README: token proxy and egress proxy", () => {
  it.live("gives a tenant a base URL and a key that work, and nothing else", () =>
    Effect.gen(function* () {
      const fake = yield* FakeLlm
      const proxies = Layer.mergeAll(
        TokenProxy.layer({
          upstreams: [{ name: "openai", dialect: "openai", baseUrl: `${fake.url}/v1`, apiKey: Redacted.make("sk-real") }]
        }),
        EgressProxy.layer({})
      ).pipe(
        Layer.provideMerge(Layer.mergeAll(TenantGate.layer, Metering.layerMemory)),
        Layer.provideMerge(VirtualKeys.layer),
        Layer.provideMerge(Clawfleet.layerMemory)
      )
      const program = Effect.gen(function* () {
        const fleet = yield* Fleet
        yield* fleet.onboardPerson({
          person: { id: "ada", email: "ada@example.com", displayName: "Ada" },
          tenant: { name: "ada", budget: { monthlyUsd: 20, requestsPerMinute: 60 } }
        })
        yield* fleet.putCatalogItem("model", { name: "gpt-4.1", upstream: "openai", inputUsdPerMTok: 2, outputUsdPerMTok: 8 })
        yield* fleet.grant({ subject: { kind: "org" }, resource: { kind: "model", name: "gpt-4.1" }, effect: "allow" })
        const { key } = yield* (yield* VirtualKeys).issue("ada")
        const { url } = yield* TokenProxy
        const config = { baseUrl: `${url}/v1`, apiKey: Redacted.value(key) }

        const reply = yield* Effect.promise(() =>
          fetch(`${config.baseUrl}/chat/completions`, {
            method: "POST",
            headers: { authorization: `Bearer ${config.apiKey}`, "content-type": "application/json" },
            body: JSON.stringify({ model: "gpt-4.1", messages: [{ role: "user", content: "hi" }] })
          })
        )
        assert.strictEqual(reply.status, 200)
        assert.strictEqual(fake.requests()[0]?.headers.authorization, "Bearer sk-real")
        const usage = yield* (yield* Metering).usage("ada")
        assert.strictEqual(usage.spentTokens, 15)
      }).pipe(withActor("admin@example.com"))
      yield* program.pipe(Effect.provide(proxies))
    }).pipe(Effect.provide(FakeLlm.layer()), Effect.scoped)
  )
})
