import { Person, Team, type TenantName } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { makeClient } from "../../src/api/client.ts"
import { makeFixture } from "./support.ts"

// The API's ids are branded: a program validates them once (Schema.decode) and the types carry it.
const tenant = (name: string) => name as TenantName

describe("typed client", () => {
  it.live("calls every kind of operation and gets typed problems back", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const admin = yield* makeClient(f.origin, {
        apiToken: yield* f.token("root", ["tenants:read", "tenants:write", "people:write", "org:write"])
      })
      const mia = yield* makeClient(f.origin, { session: f.cookie("mia") })

      const me = yield* mia.me.get()
      assert.strictEqual(me.role, "member")
      assert.strictEqual(me.tenants[0]?.name, "mia")

      const page = yield* admin.tenants.list({ query: { limit: 2 } })
      assert.strictEqual(page.items.length, 2)
      const rest = yield* admin.tenants.list({ query: { after: page.next! } })
      assert.strictEqual(page.items.length + rest.items.length, 5)

      const read = yield* admin.tenants.get({ params: { name: tenant("mia") } })
      const updated = yield* admin.tenants.update({
        params: { name: tenant("mia") },
        headers: { "if-match": read.headers.etag },
        payload: { budget: { monthlyUsd: 30 } }
      })
      assert.strictEqual(updated.body.spec.budget.monthlyUsd, 30)
      const stale = yield* Effect.flip(
        admin.tenants.update({
          params: { name: tenant("mia") },
          headers: { "if-match": read.headers.etag },
          payload: { budget: { monthlyUsd: 1 } }
        })
      )
      assert.strictEqual(stale._tag, "PreconditionFailed")

      const created = yield* admin.people.create({
        headers: { "idempotency-key": "client-1" },
        payload: {
          person: Schema.decodeUnknownSync(Person)({ id: "cli", email: "cli@example.com", displayName: "Cli" }),
          tenant: false
        }
      })
      assert.strictEqual(created.person.id, "cli")
      assert.isUndefined(created.tenant)

      const forbidden = yield* Effect.flip(mia.tenants.suspend({ params: { name: tenant("otto") } }))
      assert.strictEqual(forbidden._tag, "Forbidden")
      const missing = yield* Effect.flip(admin.tenants.get({ params: { name: tenant("nobody") } }))
      assert.strictEqual(missing._tag, "NotFound")
      const orphan = Schema.decodeUnknownSync(Team)({ id: "x", displayName: "X", department: "nowhere" })
      const team = yield* Effect.flip(admin.teams.create({ headers: {}, payload: orphan }))
      assert.strictEqual(team._tag, "InvalidRequest")
      assert.deepStrictEqual(team._tag === "InvalidRequest" ? team.errors : [], [
        { path: "department", message: 'department "nowhere" does not exist' }
      ])
      const signedOut = yield* makeClient(f.origin, { session: "cfs_gone" })
      assert.strictEqual((yield* Effect.flip(signedOut.me.get()))._tag, "Unauthenticated")
    }).pipe(Effect.scoped)
  )
})
