import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeFixture } from "./support.ts"

describe("API tokens", () => {
  it.live("a person creates, lists and revokes their own; the secret is shown once and works", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture({ catalog: true })
      const created = yield* f.request("POST", "/api/v1/tokens", {
        as: "mia",
        body: { scopes: ["tenants:read", "tokens:write"], expiresInDays: 7, label: "laptop" }
      })
      assert.strictEqual(created.status, 201)
      assert.match(created.json.token, /^cft_/)
      assert.strictEqual(created.json.record.person, "mia")
      const id = created.json.record.id as string

      const listed = yield* f.request("GET", "/api/v1/tokens", { as: "mia" })
      assert.sameMembers(
        listed.json.items.map((t: { id: string }) => t.id),
        [id, f.seeded!.tokens.mia]
      )
      assert.notInclude(JSON.stringify(listed.json), created.json.token, "the secret is never listed")
      const me = yield* f.request("GET", "/api/v1/me", { token: created.json.token })
      assert.strictEqual(me.json.person.id, "mia")

      // A token may create tokens only within its own scopes.
      const narrower = yield* f.request("POST", "/api/v1/tokens", {
        token: created.json.token,
        body: { scopes: ["tenants:read"], expiresInDays: 1 }
      })
      assert.strictEqual(narrower.status, 201)
      const broader = yield* f.request("POST", "/api/v1/tokens", {
        token: created.json.token,
        body: { scopes: ["tenants:write"], expiresInDays: 1 }
      })
      assert.strictEqual(broader.status, 403)
      // Scopes outside the API (SCIM provisioning) are the org administrators' to give.
      assert.strictEqual(
        (yield* f.request("POST", "/api/v1/tokens", { as: "tam", body: { scopes: ["scim:provision"], expiresInDays: 1 } })).status,
        403
      )
      assert.strictEqual(
        (yield* f.request("POST", "/api/v1/tokens", { as: "root", body: { scopes: ["scim:provision"], expiresInDays: 1 } })).status,
        201
      )

      // Someone else's tokens: refused to members and team administrators, open to org administrators.
      assert.strictEqual((yield* f.request("GET", "/api/v1/tokens?person=mia", { as: "tam" })).status, 403)
      assert.strictEqual((yield* f.request("DELETE", `/api/v1/tokens/${id}`, { as: "otto" })).status, 403)
      assert.strictEqual((yield* f.request("DELETE", `/api/v1/tokens/${"f".repeat(64)}`, { as: "otto" })).status, 403)
      assert.lengthOf((yield* f.request("GET", "/api/v1/tokens?person=mia", { as: "root" })).json.items, 3)
      assert.strictEqual((yield* f.request("DELETE", `/api/v1/tokens/${f.seeded!.tokens.otto}`, { as: "root" })).status, 204)
      assert.strictEqual((yield* f.request("DELETE", `/api/v1/tokens/${"f".repeat(64)}`, { as: "root" })).status, 404)

      assert.strictEqual((yield* f.request("DELETE", `/api/v1/tokens/${id}`, { as: "mia" })).status, 204)
      assert.strictEqual((yield* f.request("GET", "/api/v1/me", { token: created.json.token })).status, 401)
    }).pipe(Effect.scoped)
  )
})
