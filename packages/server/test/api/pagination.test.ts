import { Fleet } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { type Fixture, makeFixture, type Who } from "./support.ts"

/** Follows `next` from the first page to the last; fails on a page that does not move on. */
const walk = (fixture: Fixture, path: string, as: Who, limit: number) =>
  Effect.gen(function* () {
    const seen: Array<string> = []
    let after: string | undefined
    for (let page = 0; page < 1000; page++) {
      const query = new URLSearchParams({ limit: String(limit), ...(after !== undefined ? { after } : {}) })
      const r = yield* fixture.request("GET", `${path}${path.includes("?") ? "&" : "?"}${query}`, { as })
      assert.strictEqual(r.status, 200, JSON.stringify(r.json))
      assert.isAtMost(r.json.items.length, limit)
      seen.push(...r.json.items.map((i: { name?: string; id?: string }) => i.name ?? i.id))
      if (r.json.next === undefined) return seen
      assert.notStrictEqual(r.json.next, after, "the cursor moves on")
      after = r.json.next
    }
    throw new Error("the walk never ended")
  })

const addTenants = (fixture: Fixture, count: number, owner: string) =>
  fixture.run(
    Effect.gen(function* () {
      const fleet = yield* Fleet
      for (let i = 0; i < count; i++) {
        yield* fleet.createTenant({ name: `t-${String(i).padStart(3, "0")}`, spec: { owner } })
      }
    })
  )

describe("pagination", () => {
  it.live("walks 250 tenants in pages, each once, in name order", () =>
    Effect.gen(function* () {
      const fixture = yield* makeFixture()
      yield* addTenants(fixture, 250, "otto")
      const all = yield* walk(fixture, "/api/v1/tenants", "root", 37)
      assert.strictEqual(all.length, 255, "250 added and the five of the seeded people")
      assert.strictEqual(new Set(all).size, all.length, "no duplicates")
      assert.deepStrictEqual(all, [...all].sort())
      // Page size does not change what is seen; neither does the default size.
      assert.deepStrictEqual(yield* walk(fixture, "/api/v1/tenants", "root", 1000), all)
      assert.deepStrictEqual(yield* walk(fixture, "/api/v1/tenants", "root", 1), all)
      const ottos = yield* walk(fixture, "/api/v1/tenants?owner=otto", "root", 50)
      assert.strictEqual(ottos.length, 251)
    }).pipe(Effect.scoped)
  )

  it.live("a walk during inserts repeats nothing and sees what lands ahead of the cursor", () =>
    Effect.gen(function* () {
      const fixture = yield* makeFixture()
      yield* addTenants(fixture, 40, "otto")
      const first = yield* fixture.request("GET", "/api/v1/tenants?limit=20", { as: "root" })
      const seen: Array<string> = first.json.items.map((t: { name: string }) => t.name)
      yield* fixture.run(
        Effect.gen(function* () {
          const fleet = yield* Fleet
          yield* fleet.createTenant({ name: "a-behind", spec: { owner: "otto" } })
          yield* fleet.createTenant({ name: "zz-ahead", spec: { owner: "otto" } })
        })
      )
      let after: string | undefined = first.json.next
      while (after !== undefined) {
        const r = yield* fixture.request("GET", `/api/v1/tenants?limit=20&after=${after}`, { as: "root" })
        seen.push(...r.json.items.map((t: { name: string }) => t.name))
        after = r.json.next
      }
      assert.strictEqual(new Set(seen).size, seen.length)
      assert.include(seen, "zz-ahead")
      assert.notInclude(seen, "a-behind")
    }).pipe(Effect.scoped)
  )

  it.live("a team administrator's lists page the same way over their teams only", () =>
    Effect.gen(function* () {
      const fixture = yield* makeFixture()
      yield* addTenants(fixture, 30, "mia")
      const theirs = yield* walk(fixture, "/api/v1/tenants", "tam", 7)
      assert.strictEqual(theirs.length, 32, "mia's 31 and tam's own")
      assert.notInclude(theirs, "otto")
      assert.strictEqual(new Set(theirs).size, theirs.length)
      assert.deepStrictEqual(yield* walk(fixture, "/api/v1/people", "tam", 1), ["mia", "tam"])
      assert.deepStrictEqual(yield* walk(fixture, "/api/v1/people?team=platform", "root", 1), ["mia", "tam"])
    }).pipe(Effect.scoped)
  )
})
