import { assert, type Vitest } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { Audit } from "../../Audit.ts"
import { Directory } from "../../Directory.ts"
import type * as Store from "../../Store.ts"
import { RecordStore } from "../../store/RecordStore.ts"
import { dept } from "./support.ts"

/** Transactions: rollback of records and audit events, nesting, isolation and revisions. */
export const transactionScenarios = (it: Vitest.MethodsNonLive<Store.Services>) => {
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
}
