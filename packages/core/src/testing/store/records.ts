import { assert, type Vitest } from "@effect/vitest"
import { Effect } from "effect"
import { Audit } from "../../Audit.ts"
import { Directory } from "../../Directory.ts"
import { Department, Person, Team } from "../../domain/Directory.ts"
import type * as Store from "../../Store.ts"
import { RecordStore } from "../../store/RecordStore.ts"
import { dept, label, name, reasonOf } from "./support.ts"

/** Records: create, read, update and remove with versions, exact storage, paging and revisions. */
export const recordScenarios = (it: Vitest.MethodsNonLive<Store.Services>) => {
  it.effect("creates, reads, versions and removes a record", () =>
    Effect.gen(function* () {
      const { departments } = yield* Directory
      const created = yield* departments.create(dept("crud", "Before"))
      assert.strictEqual(created.version, 1)
      const read = yield* departments.get("crud")
      assert.strictEqual(read.value.displayName, "Before")
      assert.instanceOf(read.value, Department)
      const updated = yield* departments.update(dept("crud", "After"), 1)
      assert.strictEqual(updated.version, 2)
      assert.strictEqual((yield* departments.get("crud")).value.displayName, "After")
      yield* departments.remove("crud", 2)
      assert.isUndefined(yield* departments.find("crud"))
      assert.strictEqual(reasonOf(yield* Effect.exit(departments.get("crud"))), "NotFound")
    })
  )

  it.effect("refuses a duplicate id and writes nothing", () =>
    Effect.gen(function* () {
      const { departments } = yield* Directory
      const audit = yield* Audit
      yield* departments.create(dept("dup", "First"))
      const before = (yield* audit.verifyAuditChain).events
      const exit = yield* Effect.exit(departments.create(dept("dup", "Second")))
      assert.strictEqual(reasonOf(exit), "AlreadyExists")
      assert.strictEqual((yield* departments.get("dup")).value.displayName, "First")
      assert.strictEqual((yield* audit.verifyAuditChain).events, before)
    })
  )

  it.effect("a stale version fails with Conflict and overwrites nothing", () =>
    Effect.gen(function* () {
      const { departments } = yield* Directory
      yield* departments.create(dept("stale", "v1"))
      yield* departments.update(dept("stale", "v2"), 1)
      const err = yield* Effect.flip(departments.update(dept("stale", "lost"), 1))
      assert.strictEqual(err.reason._tag, "Conflict")
      assert.isTrue(err.isRetryable)
      if (err.reason._tag === "Conflict") assert.strictEqual(err.reason.actualVersion, 2)
      assert.strictEqual((yield* departments.get("stale")).value.displayName, "v2")
      assert.strictEqual((yield* Effect.flip(departments.remove("stale", 1))).reason._tag, "Conflict")
      assert.strictEqual((yield* Effect.flip(departments.update(dept("never-was"), 1))).reason._tag, "NotFound")
    })
  )

  it.effect("the store itself refuses stale versions, under any repository", () =>
    Effect.gen(function* () {
      const store = yield* RecordStore
      yield* store.insert("departments", "raw", { id: "raw", displayName: "v1" })
      yield* store.update("departments", "raw", 1, { id: "raw", displayName: "v2" })
      const update = yield* Effect.flip(store.update("departments", "raw", 1, { id: "raw", displayName: "lost" }))
      assert.strictEqual(update.reason._tag, "Conflict")
      const remove = yield* Effect.flip(store.remove("departments", "raw", 1))
      assert.strictEqual(remove.reason._tag, "Conflict")
      assert.deepStrictEqual((yield* store.get("departments", "raw"))?.data, { id: "raw", displayName: "v2" })
      assert.strictEqual((yield* Effect.flip(store.update("departments", "nothing", 1, {}))).reason._tag, "NotFound")
    })
  )

  it.effect("stores text and numbers exactly, and the chain still verifies", () =>
    Effect.gen(function* () {
      const store = yield* RecordStore
      const data = {
        id: "exact",
        text: "crab 🦀, e\u0301, line\u2028separator, \"quotes\" 'and' \\ backslash, 日本語",
        numbers: [0.30000000000000004, 1e21, 5e-324, -0, 123456789012345],
        nested: { deep: { deeper: [true, null, "x"] } }
      }
      yield* store.insert("departments", "exact", data, {
        actor: "a",
        action: "exact",
        target: { kind: "test", id: "exact" },
        after: data
      })
      const back = yield* store.get("departments", "exact")
      assert.deepStrictEqual(back?.data, JSON.parse(JSON.stringify(data)))
      assert.isTrue((yield* (yield* Audit).verifyAuditChain).ok)
    })
  )

  it.effect("gives a person back with the optional fields written, and no others", () =>
    Effect.gen(function* () {
      const { people } = yield* Directory
      const base = { email: "opt@example.com" as Person["email"], displayName: name("Opt") }
      const full = new Person({ ...base, id: label("opt-full"), department: label("opt"), externalId: "00u-Opt/1" })
      const bare = new Person({ ...base, id: label("opt-bare") })
      yield* people.create(full)
      yield* people.create(bare)
      assert.deepStrictEqual((yield* people.get("opt-full")).value, full)
      const back = (yield* people.get("opt-bare")).value
      assert.deepStrictEqual(back, bare)
      assert.notProperty(back, "externalId")
    })
  )

  it.effect("lists in pages by id, filtered on indexed fields", () =>
    Effect.gen(function* () {
      const { departments, teams, people } = yield* Directory
      yield* departments.create(dept("paging"))
      yield* teams.create(new Team({ id: label("pg-a"), displayName: name("A"), department: label("paging") }))
      yield* teams.create(new Team({ id: label("pg-b"), displayName: name("B"), department: label("paging") }))
      for (let i = 0; i < 25; i++) {
        const id = `pager-${String(i).padStart(2, "0")}`
        yield* people.create(
          new Person({
            id: label(id),
            email: `${id}@example.com` as Person["email"],
            displayName: name(id),
            team: label(i % 2 === 0 ? "pg-a" : "pg-b")
          })
        )
      }
      const seen: Array<string> = []
      let cursor: string | undefined
      let pages = 0
      do {
        const page = yield* people.list({ limit: 4, cursor, where: { team: "pg-a" } })
        seen.push(...page.items.map((p) => p.value.id))
        cursor = page.next
        pages++
      } while (cursor !== undefined)
      assert.strictEqual(seen.length, 13)
      assert.strictEqual(pages, 4)
      assert.deepStrictEqual(seen, [...seen].sort())
      assert.isTrue(seen.every((id) => Number(id.slice(-2)) % 2 === 0))
    })
  )

  it.effect("moves the revision of a table on every write", () =>
    Effect.gen(function* () {
      const store = yield* RecordStore
      const { departments } = yield* Directory
      const r0 = yield* store.revision(["departments"])
      yield* departments.create(dept("rev"))
      const r1 = yield* store.revision(["departments"])
      assert.isAbove(r1, r0)
      const skills = yield* store.revision(["skills"])
      yield* departments.update(dept("rev", "again"), 1)
      assert.strictEqual(yield* store.revision(["skills"]), skills, "a write to departments moved the skills revision")
    })
  )
}
