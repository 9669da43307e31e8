import { Metering } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeFixture } from "./support.ts"

describe("usage and audit", () => {
  it.live("a tenant's usage and ledger: its owner, their team administrator, org administrators", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      yield* f.run(
        Effect.gen(function* () {
          const metering = yield* Metering
          for (const id of ["r1", "r2", "r3"]) {
            yield* metering.reserve({ requestId: id, tenant: "mia", model: "gpt-4.1", tokens: 100, micros: 10, limits: {} })
          }
          yield* metering.settle("r1", { inputTokens: 30, outputTokens: 20, micros: 5 })
          yield* metering.release("r2", "upstream-error")
        })
      )
      const usage = yield* f.request("GET", "/api/v1/tenants/mia/usage", { as: "mia" })
      assert.strictEqual(usage.status, 200)
      assert.deepInclude(usage.json, { tenant: "mia", spentTokens: 50, reservedTokens: 100, spentMicros: 5 })
      assert.match(usage.json.period, /^\d{4}-\d{2}$/)
      assert.strictEqual((yield* f.request("GET", "/api/v1/tenants/mia/usage", { as: "tam" })).status, 200)
      assert.strictEqual((yield* f.request("GET", "/api/v1/tenants/mia/usage?period=2001-01", { as: "root" })).json.spentTokens, 0)
      assert.strictEqual((yield* f.request("GET", "/api/v1/tenants/mia/usage", { as: "otto" })).status, 403)
      assert.strictEqual((yield* f.request("GET", "/api/v1/tenants/mia/ledger", { as: "nemo" })).status, 403)
      assert.strictEqual((yield* f.request("GET", "/api/v1/tenants/ghost/usage", { as: "root" })).status, 404)
      assert.strictEqual((yield* f.request("GET", "/api/v1/tenants/mia/usage?period=2025-13", { as: "root" })).status, 400)

      const first = yield* f.request("GET", "/api/v1/tenants/mia/ledger?limit=2", { as: "mia" })
      assert.deepStrictEqual(
        first.json.items.map((e: { requestId: string; state: string }) => [e.requestId, e.state]),
        [
          ["r1", "settled"],
          ["r2", "released"]
        ]
      )
      assert.strictEqual(first.json.items[1].note, "upstream-error")
      assert.strictEqual(first.json.next, "r2")
      const rest = yield* f.request("GET", "/api/v1/tenants/mia/ledger?limit=2&after=r2", { as: "tam" })
      assert.deepStrictEqual(
        rest.json.items.map((e: { requestId: string }) => e.requestId),
        ["r3"]
      )
      assert.notProperty(rest.json.items[0], "closedAt")
      assert.notProperty(rest.json, "next")
    }).pipe(Effect.scoped)
  )

  it.live("the audit log pages by sequence number and verifies; org administrators only", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const total = yield* f.auditLength
      const first = yield* f.request("GET", "/api/v1/audit?limit=2", { as: "root" })
      assert.strictEqual(first.status, 200)
      assert.deepStrictEqual(
        first.json.items.map((e: { seq: number }) => e.seq),
        [1, 2]
      )
      assert.strictEqual(first.json.next, "2")
      const last = yield* f.request("GET", `/api/v1/audit?after=${total - 1}`, { as: "olga" })
      assert.deepStrictEqual(
        last.json.items.map((e: { seq: number }) => e.seq),
        [total]
      )
      assert.notProperty(last.json, "next")
      const verified = yield* f.request("GET", "/api/v1/audit/verify", { as: "root" })
      assert.deepInclude(verified.json, { ok: true, events: total })
      for (const who of ["tam", "mia"] as const) {
        assert.strictEqual((yield* f.request("GET", "/api/v1/audit", { as: who })).status, 403)
        assert.strictEqual((yield* f.request("GET", "/api/v1/audit/verify", { as: who })).status, 403)
      }
      assert.strictEqual((yield* f.request("GET", "/api/v1/audit?after=-1", { as: "root" })).status, 400)
    }).pipe(Effect.scoped)
  )
})
