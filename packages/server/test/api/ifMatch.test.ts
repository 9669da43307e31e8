import { TenantStatus, Tenants } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeFixture } from "./support.ts"

describe("If-Match", () => {
  it.live("a tenant change needs the ETag it read: 428 without, 412 when stale, 200 with a new ETag", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const read = yield* f.request("GET", "/api/v1/tenants/mia", { as: "root" })
      const etag = read.headers.get("etag")!
      assert.match(etag, /^"\d+"$/)
      const patch = { budget: { monthlyUsd: 25 } }

      const missing = yield* f.request("PATCH", "/api/v1/tenants/mia", { as: "root", body: patch })
      assert.strictEqual(missing.status, 428)
      assert.strictEqual(missing.json.type, "urn:clawfleet:problem:precondition-required")

      const done = yield* f.request("PATCH", "/api/v1/tenants/mia", { as: "root", body: patch, headers: { "if-match": etag } })
      assert.strictEqual(done.status, 200)
      assert.strictEqual(done.json.spec.budget.monthlyUsd, 25)
      assert.strictEqual(done.json.generation, 2)
      const next = done.headers.get("etag")!
      assert.notStrictEqual(next, etag)
      assert.strictEqual((yield* f.request("GET", "/api/v1/tenants/mia", { as: "root" })).headers.get("etag"), next)

      const stale = yield* f.request("PATCH", "/api/v1/tenants/mia", {
        as: "root",
        body: { budget: { monthlyUsd: 1 } },
        headers: { "if-match": etag }
      })
      assert.strictEqual(stale.status, 412)
      assert.include(stale.json.detail, next)
      // Weak tags never match (strong comparison); a list matches if any tag does.
      const weak = yield* f.request("PATCH", "/api/v1/tenants/mia", { as: "root", body: patch, headers: { "if-match": `W/${next}` } })
      assert.strictEqual(weak.status, 412)
      const listed = yield* f.request("PATCH", "/api/v1/tenants/mia", {
        as: "root",
        body: patch,
        headers: { "if-match": `"999", ${next}` }
      })
      assert.strictEqual(listed.status, 200)
      // A status write by the reconciler moves the ETag too: the representation changed.
      yield* f.run(
        Effect.gen(function* () {
          const tenants = yield* Tenants
          const t = yield* tenants.get("mia")
          yield* tenants.writeStatus("mia", t.version, new TenantStatus({ phase: "Ready", conditions: [], observedGeneration: 2 }))
        })
      )
      const afterStatus = yield* f.request("PATCH", "/api/v1/tenants/mia", { as: "root", body: patch, headers: { "if-match": next } })
      assert.strictEqual(afterStatus.status, 412)
      const before = yield* f.auditLength
      assert.strictEqual(
        (yield* f.request("PATCH", "/api/v1/tenants/mia", {
          as: "root",
          body: { budget: { monthlyUsd: 2 } },
          headers: { "if-match": '"1"' }
        })).status,
        412
      )
      assert.strictEqual(yield* f.auditLength, before, "a failed precondition writes nothing")
    }).pipe(Effect.scoped)
  )

  it.live("of two writers holding the same ETag exactly one wins", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const etag = (yield* f.request("GET", "/api/v1/people/otto", { as: "root" })).headers.get("etag")!
      const results = yield* Effect.all(
        ["Otto One", "Otto Two", "Otto Three"].map((displayName) =>
          f.request("PATCH", "/api/v1/people/otto", { as: "root", body: { displayName }, headers: { "if-match": etag } })
        ),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(results.map((r) => r.status).sort(), [200, 412, 412])
      const winner = results.find((r) => r.status === 200)!
      const now = yield* f.request("GET", "/api/v1/people/otto", { as: "root" })
      assert.strictEqual(now.json.displayName, winner.json.displayName)
      assert.strictEqual(now.headers.get("etag"), winner.headers.get("etag"))
    }).pipe(Effect.scoped)
  )

  it.live("a person's change needs If-Match too; a team administrator may not set groups", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const noMatch = yield* f.request("PATCH", "/api/v1/people/mia", { as: "tam", body: { displayName: "Mia" } })
      assert.strictEqual(noMatch.status, 428, JSON.stringify(noMatch.json))
      const etag = (yield* f.request("GET", "/api/v1/people/mia", { as: "tam" })).headers.get("etag")!
      const renamed = yield* f.request("PATCH", "/api/v1/people/mia", {
        as: "tam",
        body: { displayName: "Mia M." },
        headers: { "if-match": etag }
      })
      assert.strictEqual(renamed.status, 200)
      assert.strictEqual(renamed.json.displayName, "Mia M.")
      const escalate = yield* f.request("PATCH", "/api/v1/people/mia", {
        as: "tam",
        body: { groups: ["clawfleet-admins"] },
        headers: { "if-match": renamed.headers.get("etag")! }
      })
      assert.strictEqual(escalate.status, 403)
      // Out of their reach: another team, or no team at all.
      for (const team of ["data", null]) {
        const moved = yield* f.request("PATCH", "/api/v1/people/mia", { as: "tam", body: { team }, headers: { "if-match": "*" } })
        assert.strictEqual(moved.status, 403, `team ${team}`)
      }
      const admin = yield* f.request("PATCH", "/api/v1/people/mia", { as: "root", body: { team: "data" }, headers: { "if-match": "*" } })
      assert.strictEqual(admin.status, 200)
      assert.strictEqual(admin.json.team, "data")
      // A core validation failure names the field.
      const bad = yield* f.request("PATCH", "/api/v1/people/mia", { as: "root", body: { team: "nowhere" }, headers: { "if-match": "*" } })
      assert.strictEqual(bad.status, 400)
      assert.deepStrictEqual(bad.json.errors, [{ path: "team", message: 'team "nowhere" does not exist' }])
      // The identity provider's key is set, then cleared with null.
      const patch = (body: unknown) => f.request("PATCH", "/api/v1/people/mia", { as: "root", body, headers: { "if-match": "*" } })
      assert.strictEqual((yield* patch({ externalId: "00uMia" })).json.externalId, "00uMia")
      assert.notProperty((yield* patch({ externalId: null })).json, "externalId")
      assert.strictEqual((yield* patch({ externalId: "" })).status, 400)
    }).pipe(Effect.scoped)
  )
})
