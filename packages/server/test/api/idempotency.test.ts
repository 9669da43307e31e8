import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeFixture } from "./support.ts"

const ada = { person: { id: "ada", email: "ada@example.com", displayName: "Ada", team: "platform" } }

describe("Idempotency-Key", () => {
  it.live("the same key and body answer the first result once more; nothing is created twice", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const headers = { "idempotency-key": "onboard-ada-1" }
      const first = yield* f.request("POST", "/api/v1/people", { as: "root", body: ada, headers })
      assert.strictEqual(first.status, 201)
      const written = yield* f.auditLength
      // Same request, members in another order: the same request.
      const reordered = { person: { team: "platform", displayName: "Ada", email: "ada@example.com", id: "ada" } }
      const again = yield* f.request("POST", "/api/v1/people", { as: "root", body: reordered, headers })
      assert.strictEqual(again.status, 201)
      assert.deepStrictEqual(again.json, first.json)
      assert.strictEqual(yield* f.auditLength, written, "the replay wrote nothing")
      // Without a key, the second create is refused as it always is.
      assert.strictEqual((yield* f.request("POST", "/api/v1/people", { as: "root", body: ada })).status, 409)
    }).pipe(Effect.scoped)
  )

  it.live("the same key with another body, or on another operation, is 422", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const headers = { "idempotency-key": "k-1" }
      assert.strictEqual((yield* f.request("POST", "/api/v1/people", { as: "root", body: ada, headers })).status, 201)
      const other = yield* f.request("POST", "/api/v1/people", {
        as: "root",
        body: { person: { ...ada.person, displayName: "Ada L." } },
        headers
      })
      assert.strictEqual(other.status, 422)
      assert.strictEqual(other.json.type, "urn:clawfleet:problem:idempotency-key-reused")
      const elsewhere = yield* f.request("POST", "/api/v1/departments", {
        as: "root",
        body: { id: "sales", displayName: "Sales" },
        headers
      })
      assert.strictEqual(elsewhere.status, 422)
      // Keys are per caller: another administrator's k-1 is theirs.
      assert.strictEqual(
        (yield* f.request("POST", "/api/v1/departments", { as: "olga", body: { id: "sales", displayName: "Sales" }, headers })).status,
        201
      )
    }).pipe(Effect.scoped)
  )

  it.live("concurrent retries wait for the first and share its answer; a failure is not remembered", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const headers = { "idempotency-key": "tenant-second" }
      const body = { name: "second", spec: { owner: "mia" } }
      const answers = yield* Effect.all(
        Array.from({ length: 5 }, () => f.request("POST", "/api/v1/tenants", { as: "root", body, headers })),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(
        answers.map((a) => a.status),
        [201, 201, 201, 201, 201]
      )
      assert.strictEqual(new Set(answers.map((a) => a.headers.get("etag"))).size, 1)
      // A create that failed (no such owner) may be retried under its key once fixed.
      const failing = { "idempotency-key": "tenant-third" }
      const refused = yield* f.request("POST", "/api/v1/tenants", {
        as: "root",
        body: { name: "third", spec: { owner: "nobody" } },
        headers: failing
      })
      assert.strictEqual(refused.status, 400)
      const retried = yield* f.request("POST", "/api/v1/tenants", {
        as: "root",
        body: { name: "third", spec: { owner: "nobody" } },
        headers: failing
      })
      assert.strictEqual(retried.status, 400)
    }).pipe(Effect.scoped)
  )
})
