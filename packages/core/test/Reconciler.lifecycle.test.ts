import { Fleet, Reconciler, ReconcilerConfig, RecordStore, TenantCredentials, Tenants, VirtualKeys } from "@clawfleet/core"
import { MemoryWorld } from "@clawfleet/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { ada, run, stack, statusOf } from "./support/reconciler.ts"

describe("Reconciler: deletion and the audit-log watch", () => {
  it.effect("a deleted tenant's keys go with it: none opens a later tenant of the same name", () =>
    Effect.gen(function* () {
      const fleet = yield* Fleet
      const reconciler = yield* Reconciler
      const keys = yield* VirtualKeys
      const credentials = yield* TenantCredentials
      yield* fleet.onboardPerson({ person: ada })
      yield* reconciler.reconcile("ada")
      const issued = yield* keys.issue("ada", { label: "laptop" })
      const platform = yield* credentials.keyOf("ada")
      yield* fleet.deleteTenant("ada")
      yield* reconciler.reconcile("ada")
      assert.isUndefined(yield* (yield* Tenants).find("ada"))
      yield* fleet.createTenant({ name: "ada", spec: { owner: "ada" } })
      assert.isUndefined(yield* keys.resolve(Redacted.value(issued.key)), "an issued key of the deleted tenant")
      assert.isUndefined(yield* keys.resolve(Redacted.value(platform)), "the deleted tenant's platform key")
      assert.notStrictEqual(Redacted.value(yield* credentials.keyOf("ada")), Redacted.value(platform))
      const actions = (yield* (yield* RecordStore).listAudit(0, 1000)).map((e) => e.action)
      assert.includeMembers(actions, ["virtual_keys.delete", "tenant_credentials.delete"])
    }).pipe(
      Effect.provide(
        TenantCredentials.layer({ keyEncryptionKey: Redacted.make(Buffer.alloc(32, 7).toString("base64")) }).pipe(
          Layer.provideMerge(VirtualKeys.layer),
          Layer.provideMerge(Layer.fresh(stack))
        )
      )
    )
  )

  it.effect("started, it follows the audit log: a new tenant, a suspend and a grant reach the provider without a resync", () =>
    Effect.gen(function* () {
      const fleet = yield* Fleet
      const reconciler = yield* Reconciler
      const world = yield* MemoryWorld
      yield* reconciler.start
      const until = (check: Effect.Effect<boolean, any, any>) =>
        Effect.gen(function* () {
          for (let i = 0; i < 50; i++) {
            if (yield* check) return
            yield* TestClock.adjust("100 millis")
          }
          assert.fail("not reached within 5 s of (test) time, long before the hourly resync")
        })
      yield* fleet.onboardPerson({ person: ada })
      yield* until(Effect.map(statusOf("ada"), (s) => s.phase === "Ready"))
      yield* fleet.suspendTenant("ada")
      yield* until(Effect.map(statusOf("ada"), (s) => s.phase === "Suspended"))
      yield* fleet.resumeTenant("ada")
      yield* until(Effect.map(statusOf("ada"), (s) => s.phase === "Ready"))
      // A grant changes no tenant record, only what tenants may use: every tenant is looked at.
      const before = world.calls().put
      yield* fleet.putCatalogItem("model", { name: "gpt-4.1", upstream: "openai" })
      yield* fleet.grant({ subject: { kind: "org" }, resource: { kind: "model", name: "gpt-4.1" }, effect: "allow" })
      yield* until(Effect.sync(() => world.calls().put > before))
    }).pipe(
      Effect.scoped,
      Effect.provide(
        Layer.fresh(stack).pipe(Layer.provide(Layer.succeed(ReconcilerConfig, { ...ReconcilerConfig.defaultValue(), resyncMs: 3_600_000 })))
      )
    )
  )

  it.effect("deletes in two phases: destroy in the provider, then remove the record", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* Fleet
        const reconciler = yield* Reconciler
        const world = yield* MemoryWorld
        yield* fleet.onboardPerson({ person: ada })
        yield* reconciler.reconcile("ada")
        yield* fleet.deleteTenant("ada")
        world.failNext(1)
        yield* reconciler.reconcile("ada")
        assert.strictEqual((yield* statusOf("ada")).phase, "Deleting", "a failed destroy keeps the record")
        yield* reconciler.reconcile("ada")
        assert.isUndefined(yield* (yield* Tenants).find("ada"))
        // Retention keeps data by default: only the directory is left.
        assert.deepStrictEqual(
          world.resources("ada").map((r) => r.kind),
          ["directory"]
        )
      })
    )
  )
})
