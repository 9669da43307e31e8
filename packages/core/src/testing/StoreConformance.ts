import { assert, describe, layer } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, type Layer, Schedule } from "effect"
import { Audit } from "../Audit.ts"
import { Directory } from "../Directory.ts"
import { Department, Person, Team } from "../domain/Directory.ts"
import type { DisplayName, DnsLabel } from "../domain/Names.ts"
import type { StoreError } from "../Errors.ts"
import { withActor } from "../RequestContext.ts"
import type * as Store from "../Store.ts"
import { RecordStore } from "../store/RecordStore.ts"

export interface StoreConformanceOptions<R> {
  /**
   * Behind the store's back: `rewrite` alters the stored body of audit event `seq`, `dropNewest`
   * deletes the newest event, to prove both are detected. Pass `{ skip: "why" }` when the
   * implementation gives no such access.
   */
  readonly tamper:
    | {
        readonly rewrite: (seq: number) => Effect.Effect<void, unknown, R>
        readonly dropNewest: Effect.Effect<void, unknown, R>
      }
    | { readonly skip: string }
  /** How many concurrent `modify` writers to run against one record (default 1,000). */
  readonly writers?: number
  /** How many concurrent optimistic (read, update, retry) writers (default 100). */
  readonly optimisticWriters?: number
}

const label = (s: string) => s as DnsLabel
const name = (s: string) => s as typeof DisplayName.Type
const dept = (id: string, displayName = id) => new Department({ id: label(id), displayName: name(displayName) })

const reasonOf = <A>(exit: Exit.Exit<A, StoreError>) =>
  Exit.isFailure(exit)
    ? (exit.cause.reasons.find((r) => r._tag === "Fail") as { error: StoreError } | undefined)?.error.reason._tag
    : "Success"

/**
 * The behaviour every store layer must show, run by the memory, PGlite and PostgreSQL layers
 * alike (and by any store you write: give it your layer). Each suite builds its layer once; the
 * scenarios use ids of their own so they do not see each other.
 */
export const storeConformance = <E, R>(
  name_: string,
  storeLayer: Layer.Layer<Store.Services | R, E>,
  options: StoreConformanceOptions<R>
) =>
  describe(`store conformance: ${name_}`, () => {
    // Live services: connection pools keep time, and a test clock that never moves stalls them.
    layer(storeLayer, { timeout: 120_000, excludeTestServices: true })((it) => {
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

      it.effect("of two concurrent conflicting updates exactly one wins", () =>
        Effect.gen(function* () {
          const { departments } = yield* Directory
          yield* departments.create(dept("race", "start"))
          const { version } = yield* departments.get("race")
          const exits = yield* Effect.forEach(["left", "right"], (who) => Effect.exit(departments.update(dept("race", who), version)), {
            concurrency: "unbounded"
          })
          const outcomes = exits.map(reasonOf).sort()
          assert.deepStrictEqual(outcomes, ["Conflict", "Success"])
          const winner = exits[0] !== undefined && Exit.isSuccess(exits[0]) ? "left" : "right"
          assert.strictEqual((yield* departments.get("race")).value.displayName, winner)
        })
      )

      it.effect("concurrent writers modifying one record lose no update", () =>
        Effect.gen(function* () {
          const writers = options.writers ?? 1000
          const { departments } = yield* Directory
          yield* departments.create(dept("counter", "0"))
          const increment = departments.modify("counter", (d) => dept("counter", String(Number(d.displayName) + 1)))
          yield* Effect.forEach(Array.from({ length: writers }), () => increment, { concurrency: "unbounded", discard: true })
          const final = yield* departments.get("counter")
          assert.strictEqual(final.value.displayName, String(writers))
          assert.strictEqual(final.version, writers + 1)
          assert.isTrue((yield* (yield* Audit).verifyAuditChain).ok)
        })
      )

      // Optimistic writers re-read and retry on Conflict, backing off with jitter as any client of
      // an optimistic store should. Contention makes this quadratic, hence fewer writers.
      it.effect("optimistic writers retrying on Conflict lose no update", () =>
        Effect.gen(function* () {
          const writers = options.optimisticWriters ?? 100
          const { departments } = yield* Directory
          yield* departments.create(dept("optimistic", "0"))
          const increment = Effect.gen(function* () {
            const cur = yield* departments.get("optimistic")
            yield* departments.update(dept("optimistic", String(Number(cur.value.displayName) + 1)), cur.version)
          }).pipe(
            Effect.retry(($) =>
              $(Schedule.min([Schedule.exponential("1 millis"), Schedule.spaced("50 millis")])).pipe(
                Schedule.jittered,
                Schedule.while(({ input }) => input.reason._tag === "Conflict")
              )
            )
          )
          yield* Effect.forEach(Array.from({ length: writers }), () => increment, { concurrency: "unbounded", discard: true })
          const final = yield* departments.get("optimistic")
          assert.strictEqual(final.value.displayName, String(writers))
          assert.strictEqual(final.version, writers + 1)
        })
      )

      it.effect("a failed transaction leaves neither records nor audit events", () =>
        Effect.gen(function* () {
          const store = yield* RecordStore
          const { departments } = yield* Directory
          const audit = yield* Audit
          const before = (yield* audit.verifyAuditChain).events
          const exit = yield* Effect.exit(
            store.transaction(
              Effect.gen(function* () {
                yield* departments.create(dept("tx-a"))
                yield* departments.create(dept("tx-b"))
                return yield* Effect.fail("boom" as const)
              })
            )
          )
          assert.isTrue(Exit.isFailure(exit))
          assert.isUndefined(yield* departments.find("tx-a"))
          assert.isUndefined(yield* departments.find("tx-b"))
          const after = yield* audit.verifyAuditChain
          assert.isTrue(after.ok)
          assert.strictEqual(after.events, before)
        })
      )

      it.effect("a nested transaction that fails rolls back only its own writes", () =>
        Effect.gen(function* () {
          const store = yield* RecordStore
          const { departments } = yield* Directory
          yield* store.transaction(
            Effect.gen(function* () {
              yield* departments.create(dept("outer-kept"))
              yield* store.transaction(Effect.andThen(departments.create(dept("inner-undone")), Effect.fail("inner"))).pipe(Effect.ignore)
            })
          )
          assert.isDefined(yield* departments.find("outer-kept"))
          assert.isUndefined(yield* departments.find("inner-undone"))
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

      it.effect("nobody outside a transaction sees what it has not committed", () =>
        Effect.gen(function* () {
          const store = yield* RecordStore
          const written = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const tx = yield* Effect.forkChild(
            Effect.exit(
              store.transaction(
                Effect.gen(function* () {
                  yield* store.insert("departments", "dirty", { id: "dirty", displayName: "uncommitted" })
                  yield* Deferred.succeed(written, undefined)
                  yield* Deferred.await(release)
                  return yield* Effect.fail("rolled back" as const)
                })
              )
            )
          )
          yield* Deferred.await(written)
          const reader = yield* Effect.forkChild(store.get("departments", "dirty"))
          yield* Effect.sleep("20 millis")
          yield* Deferred.succeed(release, undefined)
          yield* Fiber.join(tx)
          assert.isUndefined(yield* Fiber.join(reader))
        })
      )

      it.effect("a revision seen inside a rolled-back transaction never comes back", () =>
        Effect.gen(function* () {
          const store = yield* RecordStore
          const inside = yield* store
            .transaction(
              Effect.gen(function* () {
                yield* store.insert("grants", "rolled-back", { id: "rolled-back" })
                return yield* Effect.fail(yield* store.revision(["grants"]))
              })
            )
            .pipe(Effect.flip)
          assert.notStrictEqual(yield* store.revision(["grants"]), inside)
          yield* store.insert("grants", "committed", { id: "committed" })
          assert.notStrictEqual(yield* store.revision(["grants"]), inside)
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

      it.effect("gives a claim to one holder at a time until it expires or is released", () =>
        Effect.gen(function* () {
          const store = yield* RecordStore
          const racers = yield* Effect.forEach(["r1", "r2", "r3", "r4"], (h) => store.claim("tenant:claimed", h, 60_000), {
            concurrency: "unbounded"
          })
          assert.strictEqual(racers.filter(Boolean).length, 1, "exactly one racer wins")
          const winner = ["r1", "r2", "r3", "r4"][racers.indexOf(true)]!
          assert.isTrue(yield* store.claim("tenant:claimed", winner, 60_000), "the holder may renew")
          yield* store.release("tenant:claimed", "someone-else")
          assert.isFalse(yield* store.claim("tenant:claimed", "late", 60_000), "a stranger's release does nothing")
          yield* store.release("tenant:claimed", winner)
          assert.isTrue(yield* store.claim("tenant:claimed", "late", 50))
          yield* Effect.sleep("120 millis")
          assert.isTrue(yield* store.claim("tenant:claimed", "after-expiry", 60_000), "an expired claim passes on")
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

      it.effect("appends many events in order in one step, or none", () =>
        Effect.gen(function* () {
          const store = yield* RecordStore
          const audit = yield* Audit
          const start = (yield* audit.verifyAuditChain).events
          const drafts = Array.from({ length: 25 }, (_, i) => ({
            actor: "tenant:ada",
            action: i % 2 === 0 ? "egress.allow" : "egress.deny",
            target: { kind: "egress", id: `host-${i}.example.com:443` },
            decision: i % 2 === 0 ? "allowed" : "not-granted"
          }))
          const appended = yield* store.appendAuditMany(drafts)
          assert.deepStrictEqual(
            appended.map((e) => e.seq),
            drafts.map((_, i) => start + i + 1)
          )
          for (let i = 1; i < appended.length; i++) assert.strictEqual(appended[i]!.prevHash, appended[i - 1]!.hash)
          assert.deepStrictEqual(yield* store.appendAuditMany([]), [])
          const listed = yield* audit.list({ afterSeq: start, limit: 100 })
          assert.deepStrictEqual(
            listed.map((e) => [e.action, e.target.id, e.decision]),
            drafts.map((d) => [d.action, d.target.id, d.decision])
          )
          // Concurrent batches and single appends interleave as whole batches, and the chain holds.
          yield* Effect.all(
            [
              store.appendAuditMany(drafts.slice(0, 10)),
              store.appendAudit(drafts[0]!),
              store.appendAuditMany(drafts.slice(10)),
              store.appendAuditMany(drafts.slice(5, 15))
            ],
            { concurrency: "unbounded" }
          )
          const chain = yield* audit.verifyAuditChain
          assert.isTrue(chain.ok)
          assert.strictEqual(chain.events, start + 25 + 10 + 1 + 15 + 10)
          const inTx = yield* Effect.exit(
            store.transaction(Effect.andThen(store.appendAuditMany(drafts.slice(0, 3)), Effect.fail("rolled back")))
          )
          assert.isTrue(Exit.isFailure(inTx))
          assert.strictEqual((yield* audit.verifyAuditChain).events, chain.events, "a batch in a failed transaction leaves nothing")
        })
      )

      it.effect("audits each write with actor, before and after, in one verifiable chain", () =>
        Effect.gen(function* () {
          const { departments } = yield* Directory
          const audit = yield* Audit
          const start = (yield* audit.verifyAuditChain).events
          yield* departments.create(dept("audited", "One")).pipe(withActor("ada@example.com", "req-1"))
          yield* departments.update(dept("audited", "Two"), 1).pipe(withActor("grace@example.com"))
          const events = yield* audit.list({ afterSeq: start })
          const mine = events.filter((e) => e.target.id === "audited")
          assert.deepStrictEqual(
            mine.map((e) => [e.action, e.actor]),
            [
              ["departments.create", "ada@example.com"],
              ["departments.update", "grace@example.com"]
            ]
          )
          assert.strictEqual(mine[0]?.requestId, "req-1")
          assert.deepStrictEqual(mine[1]?.before, { id: "audited", displayName: "One" })
          assert.deepStrictEqual(mine[1]?.after, { id: "audited", displayName: "Two" })
          assert.strictEqual(mine[1]?.prevHash, mine[0]?.hash)
          const chain = yield* audit.verifyAuditChain
          assert.isTrue(chain.ok)
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

      // Last: they break the chain for the rest of this layer. Truncation first, while the chain
      // is otherwise whole, so its verdict can only come from the missing event.
      if ("skip" in options.tamper) {
        it.skip(`detects a tampered or truncated audit log (skipped: ${options.tamper.skip})`, () => Effect.void)
      } else {
        const tamper = options.tamper
        it.effect("verification fails when the newest events are removed", () =>
          Effect.gen(function* () {
            const { departments } = yield* Directory
            const audit = yield* Audit
            yield* departments.create(dept("truncate-target"))
            assert.isTrue((yield* audit.verifyAuditChain).ok)
            yield* Effect.orDie(tamper.dropNewest)
            const result = yield* audit.verifyAuditChain
            assert.isFalse(result.ok)
            if (!result.ok) assert.match(result.reason, /removed/)
          })
        )

        // Rewrites the very first event, so the verdict must name it whatever came later.
        it.effect("verification fails at the first tampered audit event", () =>
          Effect.gen(function* () {
            const audit = yield* Audit
            const [first] = yield* audit.list({ afterSeq: 0, limit: 1 })
            assert.strictEqual(first?.seq, 1)
            yield* Effect.orDie(tamper.rewrite(1))
            const result = yield* audit.verifyAuditChain
            assert.isFalse(result.ok)
            if (!result.ok) {
              assert.strictEqual(result.brokenAt, 1)
              assert.match(result.reason, /hash/)
            }
          })
        )
      }
    })
  })
