import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeFixture } from "./support.ts"

const names = (r: { json: { items: ReadonlyArray<{ id?: string; name?: string }> } }) => r.json.items.map((i) => i.id ?? i.name)

describe("what each role reaches", () => {
  it.live("a team administrator sees and changes only their team's people and tenants", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      assert.deepStrictEqual(names(yield* f.request("GET", "/api/v1/people", { as: "tam" })), ["mia", "tam"])
      assert.deepStrictEqual(names(yield* f.request("GET", "/api/v1/tenants", { as: "tam" })), ["mia", "tam"])
      assert.deepStrictEqual(names(yield* f.request("GET", "/api/v1/tenants?owner=mia", { as: "tam" })), ["mia"])
      for (const path of ["/api/v1/people?team=data", "/api/v1/tenants?owner=otto", "/api/v1/people/otto", "/api/v1/tenants/otto"]) {
        assert.strictEqual((yield* f.request("GET", path, { as: "tam" })).status, 403, path)
      }
      // A record that does not exist is refused the same way: ids cannot be probed.
      assert.strictEqual((yield* f.request("GET", "/api/v1/tenants/nobody", { as: "tam" })).status, 403)
      assert.strictEqual((yield* f.request("GET", "/api/v1/tenants/nobody", { as: "root" })).status, 404)

      const mias = yield* f.request("POST", "/api/v1/tenants/mia/suspend", { as: "tam" })
      assert.strictEqual(mias.status, 200)
      assert.isTrue(mias.json.spec.suspended)
      assert.strictEqual((yield* f.request("POST", "/api/v1/tenants/otto/suspend", { as: "tam" })).status, 403)
      assert.strictEqual((yield* f.request("DELETE", "/api/v1/tenants/mia", { as: "tam" })).status, 202)
      assert.strictEqual((yield* f.request("DELETE", "/api/v1/tenants/otto", { as: "tam" })).status, 403)

      const onboard = (team: string | undefined, groups?: ReadonlyArray<string>) =>
        f.request("POST", "/api/v1/people", {
          as: "tam",
          body: {
            person: {
              id: `new-${team ?? "none"}`,
              email: "n@example.com",
              displayName: "New",
              ...(team ? { team } : {}),
              ...(groups ? { groups } : {})
            }
          }
        })
      assert.strictEqual((yield* onboard("data")).status, 403)
      assert.strictEqual((yield* onboard(undefined)).status, 403)
      assert.strictEqual((yield* onboard("platform", ["clawfleet-team-admins-data"])).status, 403, "no making administrators")
      const created = yield* onboard("platform")
      assert.strictEqual(created.status, 201)
      assert.strictEqual(created.json.tenant.name, "new-platform")
      assert.strictEqual(
        (yield* f.request("POST", "/api/v1/tenants", { as: "tam", body: { name: "x", spec: { owner: "otto" } } })).status,
        403
      )

      assert.strictEqual((yield* f.request("POST", "/api/v1/people/otto/offboard", { as: "tam" })).status, 403)
      const off = yield* f.request("POST", "/api/v1/people/mia/offboard", { as: "tam" })
      assert.strictEqual(off.status, 200)
      assert.isTrue(off.json.disabled)
      // The organisation's shape is the org administrators'.
      assert.strictEqual((yield* f.request("GET", "/api/v1/teams", { as: "tam" })).status, 200)
      assert.strictEqual(
        (yield* f.request("POST", "/api/v1/teams", { as: "tam", body: { id: "t", displayName: "T", department: "engineering" } })).status,
        403
      )
      assert.strictEqual((yield* f.request("POST", "/api/v1/departments", { as: "tam", body: { id: "d", displayName: "D" } })).status, 403)
    }).pipe(Effect.scoped)
  )

  it.live("a member suspends and resumes their own tenant, and nobody else's", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const suspended = yield* f.request("POST", "/api/v1/tenants/mia/suspend", { as: "mia" })
      assert.strictEqual(suspended.status, 200)
      assert.isTrue(suspended.json.spec.suspended)
      const resumed = yield* f.request("POST", "/api/v1/tenants/mia/resume", { as: "mia" })
      assert.strictEqual(resumed.status, 200)
      assert.isFalse(resumed.json.spec.suspended)
      const before = yield* f.auditLength
      for (const path of ["/api/v1/tenants/otto/suspend", "/api/v1/tenants/otto/resume"]) {
        const r = yield* f.request("POST", path, { as: "mia" })
        assert.strictEqual(r.status, 403, path)
        assert.match(r.json.detail, /otto/)
      }
      assert.strictEqual(yield* f.auditLength, before)
      // Their own, but not theirs to change or delete.
      assert.strictEqual((yield* f.request("DELETE", "/api/v1/tenants/mia", { as: "mia" })).status, 403)
      assert.strictEqual(
        (yield* f.request("PATCH", "/api/v1/tenants/mia", {
          as: "mia",
          body: { budget: { monthlyUsd: 1e6 } },
          headers: { "if-match": "*" }
        })).status,
        403
      )
      assert.strictEqual((yield* f.request("GET", "/api/v1/people/mia", { as: "mia" })).status, 200)
      assert.strictEqual((yield* f.request("GET", "/api/v1/people/tam", { as: "mia" })).status, 403)
    }).pipe(Effect.scoped)
  )

  it.live("/me tells each caller who they are, their role and their tenants", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const me = (as: "root" | "olga" | "tam" | "mia" | "nemo") => Effect.map(f.request("GET", "/api/v1/me", { as }), (r) => r.json)
      const mia = yield* me("mia")
      assert.strictEqual(mia.person.id, "mia")
      assert.strictEqual(mia.role, "member")
      assert.deepStrictEqual(mia.administers, [])
      assert.deepStrictEqual(
        mia.tenants.map((t: { name: string }) => t.name),
        ["mia"]
      )
      assert.isUndefined(mia.scopes)
      assert.deepStrictEqual([(yield* me("tam")).role, (yield* me("tam")).administers], ["team-admin", ["platform"]])
      assert.strictEqual((yield* me("root")).role, "org-admin")
      assert.strictEqual((yield* me("olga")).role, "org-admin")
      assert.deepStrictEqual((yield* me("nemo")).tenants, [])
      // A token that may not read tenants sees none here either.
      const narrow = yield* f.token("mia", [])
      const viaToken = yield* f.request("GET", "/api/v1/me", { token: narrow })
      assert.deepStrictEqual([viaToken.json.scopes, viaToken.json.tenants], [[], []])
    }).pipe(Effect.scoped)
  )

  it.live("an org administrator's patch keeps what it does not name", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const r = yield* f.request("PATCH", "/api/v1/people/tam", { as: "root", body: { displayName: "Tam" }, headers: { "if-match": "*" } })
      assert.strictEqual(r.status, 200)
      assert.deepStrictEqual(r.json.groups, ["clawfleet-team-admins-platform"])
      assert.strictEqual(r.json.team, "platform")
    }).pipe(Effect.scoped)
  )
})
