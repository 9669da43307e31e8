import { Audit, Clawfleet, CompileError, Fleet, OpenClawConfig, Reconciler, RuntimeCompiler, Tenants } from "@clawfleet/core"
import { MemoryProvider, MemoryWorld } from "@clawfleet/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Fiber, Layer, Schedule, Stream } from "effect"
import { TestClock } from "effect/testing"
import { ada, run, statusOf } from "./support/reconciler.ts"

describe("Reconciler", () => {
  it.effect("brings a new tenant to Ready with conditions and the observed generation", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* Fleet
        const reconciler = yield* Reconciler
        yield* fleet.onboardPerson({ person: ada })
        yield* reconciler.reconcile("ada")
        const status = yield* statusOf("ada")
        assert.strictEqual(status.phase, "Ready")
        assert.strictEqual(status.observedGeneration, 1)
        assert.deepStrictEqual(
          status.conditions.map((c) => [c.type, c.status]),
          [
            ["StorageReady", "True"],
            ["IdentityReady", "True"],
            ["NetworkReady", "True"],
            ["WorkloadReady", "True"],
            ["Ready", "True"]
          ]
        )
        const world = yield* MemoryWorld
        const writes = world.calls().put
        yield* reconciler.reconcile("ada")
        assert.strictEqual(world.calls().put, writes, "a second pass writes nothing")
      })
    )
  )

  it.effect("follows spec changes, grants, suspend, resume and drift", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* Fleet
        const reconciler = yield* Reconciler
        const world = yield* MemoryWorld
        yield* fleet.onboardPerson({ person: ada })
        yield* reconciler.reconcile("ada")

        yield* fleet.updateTenant("ada", { resources: { memory: "4Gi" } })
        yield* reconciler.reconcile("ada")
        assert.strictEqual((yield* statusOf("ada")).observedGeneration, 2)
        const gateway = world.resources("ada").find((r) => r.kind === "process")
        assert.deepStrictEqual((gateway?.spec as { resources?: { memory: string } } | undefined)?.resources?.memory, "4Gi")

        yield* fleet.putCatalogItem("egress", { name: "api.github.com" })
        yield* fleet.grant({
          subject: { kind: "person", id: "ada" },
          resource: { kind: "egress", name: "api.github.com" },
          effect: "allow"
        })
        yield* reconciler.reconcile("ada")
        const policy = world.resources("ada").find((r) => r.kind === "egress-policy")
        assert.deepStrictEqual(policy?.spec, { allow: [{ pattern: "api.github.com", except: [] }] })

        yield* fleet.suspendTenant("ada")
        yield* reconciler.reconcile("ada")
        assert.strictEqual((yield* statusOf("ada")).phase, "Suspended")
        assert.isUndefined(world.resources("ada").find((r) => r.kind === "process"))
        yield* fleet.resumeTenant("ada")
        yield* reconciler.reconcile("ada")
        assert.strictEqual((yield* statusOf("ada")).phase, "Ready")

        world.drop("ada", "token", "identity-ada")
        yield* reconciler.reconcile("ada")
        assert.isDefined(world.resources("ada").find((r) => r.kind === "token"))
      })
    )
  )

  it.effect("records a provider failure in status and retries until it converges", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* Fleet
        const reconciler = yield* Reconciler
        const world = yield* MemoryWorld
        yield* fleet.onboardPerson({ person: ada })
        world.failNext(1)
        yield* reconciler.reconcile("ada")
        const failed = yield* statusOf("ada")
        const ready = failed.conditions.find((c) => c.type === "Ready")
        assert.strictEqual(ready?.reason, "ProviderUnavailable")
        assert.strictEqual(failed.phase, "Provisioning", "retryable: not Failed")
        yield* reconciler.reconcile("ada")
        assert.strictEqual((yield* statusOf("ada")).phase, "Ready")
      })
    )
  )

  it.live("runs workers that converge many tenants, deduplicating work", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* Fleet
        const reconciler = yield* Reconciler
        const world = yield* MemoryWorld
        for (let i = 0; i < 60; i++) {
          yield* fleet.onboardPerson({ person: { id: `p${i}`, email: `p${i}@example.com`, displayName: `P${i}` } })
        }
        world.failEvery(7)
        yield* reconciler.start
        yield* reconciler.resyncAll
        yield* reconciler.resyncAll
        yield* Effect.repeat(Effect.sleep("20 millis"), { until: () => reconciler.pending() === 0 })
        world.failEvery(0)
        const tenants = yield* Tenants
        const all = yield* tenants.all
        assert.strictEqual(all.length, 60)
        assert.isTrue(all.every((t) => t.value.status.phase === "Ready" && t.value.status.observedGeneration === 1))
        assert.strictEqual(world.resources().length, 60 * 5)
      }).pipe(Effect.scoped)
    )
  )
})

describe("Reconciler waiting for readiness", () => {
  it.live("looks again soon at a tenant that is not ready yet, without waiting for a resync", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* Fleet
        const reconciler = yield* Reconciler
        const world = yield* MemoryWorld
        yield* fleet.onboardPerson({ person: ada })
        // The observation after the first apply is stale (what existed before it): not ready.
        world.staleEvery(2)
        const events: Array<string> = []
        yield* Effect.forkScoped(
          Stream.runForEach(reconciler.events, (e) => Effect.sync(() => events.push(`${e.type}:${"phase" in e ? e.phase : ""}`)))
        )
        yield* Effect.yieldNow
        yield* reconciler.start
        yield* reconciler.enqueue("ada")
        yield* Effect.repeat(statusOf("ada"), { until: (s) => s.phase === "Ready", schedule: Schedule.spaced("10 millis") }).pipe(
          Effect.timeout("5 seconds")
        )
        assert.deepStrictEqual(events.slice(0, 2), ["Reconciled:Provisioning", "Reconciled:Ready"])
      }).pipe(Effect.scoped)
    )
  )
})

describe("Reconciler with a misbehaving renderer", () => {
  // One tenant's renderer fails with a message no status may hold, another's throws: both land in
  // status, valid, and the workers go on converging everybody else.
  const nasty = RuntimeCompiler.layerWith(({ tenant, access }) =>
    tenant.name === "bad"
      ? Effect.fail(new CompileError({ tenant: tenant.name, detail: `broken\u0000${"x".repeat(40_000)}` }))
      : tenant.name === "boom"
        ? Effect.die(new Error("renderer bug"))
        : Effect.succeed({ models: access.models })
  )
  const nastyStack = Reconciler.layer.pipe(
    Layer.provideMerge(nasty),
    Layer.provideMerge(MemoryProvider.layer()),
    Layer.provideMerge(Clawfleet.layerMemory)
  )

  it.live("keeps status valid and workers alive", () =>
    Effect.gen(function* () {
      const fleet = yield* Fleet
      const reconciler = yield* Reconciler
      for (const id of ["bad", "boom", "ada", "bob"]) {
        yield* fleet.onboardPerson({ person: { id, email: `${id}@example.com`, displayName: id } })
      }
      yield* reconciler.start
      yield* reconciler.resyncAll
      const tenants = yield* Tenants
      const settled = Effect.map(tenants.all, (all) => all.every((t) => t.value.status.conditions.length > 0))
      yield* Effect.repeat(settled, { until: (done) => done, schedule: Schedule.spaced("10 millis") }).pipe(Effect.timeout("10 seconds"))
      const ready = (name: string) => Effect.map(statusOf(name), (s) => s.conditions.find((c) => c.type === "Ready")!)
      const bad = yield* ready("bad")
      assert.strictEqual(bad.reason, "CompileError")
      assert.isAtMost(bad.message.length, 32_768)
      assert.notInclude(bad.message, "\u0000")
      assert.strictEqual((yield* statusOf("bad")).phase, "Failed")
      const boom = yield* ready("boom")
      assert.deepStrictEqual([boom.reason, boom.message], ["Defect", "renderer bug"])
      assert.strictEqual((yield* statusOf("ada")).phase, "Ready")
      assert.strictEqual((yield* statusOf("bob")).phase, "Ready")
      // Everything written is still readable through the schema.
      assert.strictEqual((yield* tenants.all).length, 4)
    }).pipe(Effect.scoped, Effect.provide(Layer.fresh(nastyStack)))
  )
})

describe("Reconciler idle suspend and events", () => {
  it.effect("suspends a tenant idle past its policy, audited, and a resume wakes it", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* Fleet
        const reconciler = yield* Reconciler
        const tenants = yield* Tenants
        yield* fleet.onboardPerson({ person: ada, tenant: { idle: { suspendAfterMinutes: 30 } } })
        yield* reconciler.reconcile("ada")
        yield* tenants.reportActivity("ada", DateTime.makeUnsafe(0) as DateTime.Utc)
        yield* TestClock.adjust("29 minutes")
        yield* reconciler.reconcile("ada")
        assert.strictEqual((yield* statusOf("ada")).phase, "Ready", "not idle long enough")
        yield* TestClock.adjust("2 minutes")
        yield* reconciler.reconcile("ada")
        const t = (yield* tenants.get("ada")).value
        assert.isTrue(t.spec.suspended)
        assert.strictEqual(t.status.phase, "Suspended")
        const audit = yield* (yield* Audit).list({ limit: 100 })
        assert.isTrue(audit.some((e) => e.action === "tenant.idle-suspend" && e.target.id === "ada"))
        yield* fleet.resumeTenant("ada")
        yield* tenants.reportActivity("ada", DateTime.makeUnsafe(31 * 60_000) as DateTime.Utc)
        yield* reconciler.reconcile("ada")
        assert.strictEqual((yield* statusOf("ada")).phase, "Ready")
      })
    )
  )

  it.effect("streams what each pass did", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* Fleet
        const reconciler = yield* Reconciler
        const world = yield* MemoryWorld
        const seen = yield* Effect.forkChild(Stream.runCollect(Stream.take(reconciler.events, 3)))
        yield* Effect.yieldNow
        yield* fleet.onboardPerson({ person: ada })
        yield* reconciler.reconcile("ada")
        world.failNext(1, "Forbidden")
        yield* fleet.updateTenant("ada", { resources: { memory: "4Gi" } })
        yield* reconciler.reconcile("ada")
        yield* fleet.deleteTenant("ada")
        yield* reconciler.reconcile("ada")
        const events = yield* Fiber.join(seen)
        assert.deepStrictEqual(
          events.map((e) => e.type),
          ["Reconciled", "Failed", "Deleted"]
        )
        const [created, failed] = events
        assert.strictEqual(created?.type === "Reconciled" ? created.changes : -1, 5)
        assert.strictEqual(failed?.type === "Failed" ? failed.reason : "", "ProviderForbidden")
      })
    )
  )
})

describe("Reconciler with the OpenClaw renderer", () => {
  const real = Reconciler.layer.pipe(
    Layer.provideMerge(OpenClawConfig.runtimeCompiler),
    Layer.provideMerge(
      OpenClawConfig.layer({
        tokenProxyUrl: "http://token-proxy.clawfleet:8080/v1",
        toolBrokerUrl: "http://tool-broker.clawfleet:8081",
        egressProxyUrl: "http://egress-proxy.clawfleet:3128"
      })
    ),
    Layer.provideMerge(MemoryProvider.layer()),
    Layer.provideMerge(Clawfleet.layerMemory)
  )

  it.effect("renders the tenant's openclaw.json into its runtime, and fails a version it cannot render", () =>
    Effect.gen(function* () {
      const fleet = yield* Fleet
      const reconciler = yield* Reconciler
      const world = yield* MemoryWorld
      yield* fleet.putCatalogItem("model", { name: "gpt-4.1", upstream: "openai" })
      yield* fleet.grant({ subject: { kind: "org" }, resource: { kind: "model", name: "*" }, effect: "allow" })
      yield* fleet.onboardPerson({ person: ada })
      yield* reconciler.reconcile("ada")
      assert.strictEqual((yield* statusOf("ada")).phase, "Ready")
      const config = world.resources("ada").find((r) => r.kind === "config")?.spec as
        | { config: { gateway: { bind: string }; models: { providers: { clawfleet: { baseUrl: string } } } } }
        | undefined
      assert.strictEqual(config?.config.gateway.bind, "loopback")
      assert.strictEqual(config?.config.models.providers.clawfleet.baseUrl, "http://token-proxy.clawfleet:8080/v1")

      yield* fleet.onboardPerson({
        person: { id: "old", email: "old@example.com", displayName: "Old" },
        tenant: { openclaw: { version: "2025.1.1" } }
      })
      yield* reconciler.reconcile("old")
      const status = yield* statusOf("old")
      assert.strictEqual(status.phase, "Failed")
      assert.match(status.conditions.find((c) => c.type === "Ready")?.message ?? "", /UnsupportedVersion/)
    }).pipe(Effect.provide(Layer.fresh(real)))
  )
})
