import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit, type Layer, Schedule } from "effect"
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
   * Rewrites the stored body of audit event `seq` behind the store's back, to prove tampering is
   * detected. Pass `{ skip: "why" }` when the implementation gives no such access.
   */
  readonly tamper: ((seq: number) => Effect.Effect<void, unknown, R>) | { readonly skip: string }
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
          assert.strictEqual(yield* store.revision(["skills"]), yield* store.revision(["skills"]))
        })
      )

      // Last: it breaks the chain for the rest of this layer.
      if ("skip" in options.tamper) {
        it.skip(`detects a tampered audit event (skipped: ${options.tamper.skip})`, () => Effect.void)
      } else {
        const tamper = options.tamper
        it.effect("verification fails at the first tampered audit event", () =>
          Effect.gen(function* () {
            const { departments } = yield* Directory
            const audit = yield* Audit
            yield* departments.create(dept("tamper-target", "Honest"))
            const head = yield* audit.verifyAuditChain
            assert.isTrue(head.ok)
            const [target] = yield* audit.list({ afterSeq: head.events - 1 })
            assert.strictEqual(target?.target.id, "tamper-target")
            if (target === undefined) return
            yield* Effect.orDie(tamper(target.seq))
            const result = yield* audit.verifyAuditChain
            assert.isFalse(result.ok)
            if (!result.ok) {
              assert.strictEqual(result.brokenAt, target.seq)
              assert.match(result.reason, /hash/)
            }
          })
        )
      }
    })
  })
