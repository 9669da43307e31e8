import { Clawfleet, Fleet, Reconciler, ReconcilerConfig, RuntimeCompiler, Tenants } from "@clawfleet/core"
import { MemoryProvider, MemoryWorld } from "@clawfleet/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Layer, Scope } from "effect"

/**
 * In the spirit of Sieve (OSDI '22): crash the reconciler after every k-th provider write, fail
 * provider calls on a schedule, restart it, and require the end state to be exactly the one an
 * undisturbed run reaches — no duplicate, no orphan, every status at the right generation.
 */

const TENANTS = 200
const compiler = RuntimeCompiler.layerWith(({ access }) => Effect.succeed({ models: access.models, egress: access.egress }))
const base = Layer.mergeAll(compiler, MemoryProvider.layer()).pipe(Layer.provideMerge(Clawfleet.layerMemory))
const fastConfig = Layer.succeed(ReconcilerConfig, {
  concurrency: 8,
  resyncMs: 60_000,
  backoff: { baseMs: 1, capMs: 20 },
  claimTtlMs: 200,
  retention: "keep",
  holder: "reliability"
})

// The same history for both runs, in two acts with convergence after each: first everybody gets
// an assistant, then changes of every kind land on tenants that already exist.
const onboarding = Effect.gen(function* () {
  const fleet = yield* Fleet
  yield* fleet.putCatalogItem("egress", { name: "api.github.com" })
  for (let i = 0; i < TENANTS; i++) {
    yield* fleet.onboardPerson({ person: { id: `p${i}`, email: `p${i}@example.com`, displayName: `P${i}` } })
  }
})
const changes = Effect.gen(function* () {
  const fleet = yield* Fleet
  for (let i = 0; i < TENANTS; i += 4) yield* fleet.updateTenant(`p${i}`, { resources: { memory: "4Gi" } })
  for (let i = 1; i < TENANTS; i += 8) yield* fleet.suspendTenant(`p${i}`)
  for (let i = 2; i < TENANTS; i += 8) yield* fleet.deleteTenant(`p${i}`)
  for (let i = 3; i < TENANTS; i += 8) {
    yield* fleet.grant({ subject: { kind: "person", id: `p${i}` }, resource: { kind: "egress", name: "api.github.com" }, effect: "allow" })
  }
})

// Runs one reconciler until nothing is pending, or until `crash` fires.
const runUntilIdleOrCrash = (crash: Deferred.Deferred<void>) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(Reconciler.layer.pipe(Layer.provide(fastConfig)), scope)
    const reconciler = Context.get(context, Reconciler)
    yield* reconciler.start.pipe(Effect.provideService(Scope.Scope, scope))
    yield* reconciler.resyncAll
    const idle = Effect.repeat(Effect.sleep("5 millis"), { until: () => reconciler.pending() === 0 })
    const crashed = yield* Effect.raceFirst(Effect.as(idle, false), Effect.as(Deferred.await(crash), true))
    yield* Scope.close(scope, Exit.void)
    return crashed
  })

const snapshot = Effect.gen(function* () {
  const world = yield* MemoryWorld
  const tenants = yield* Tenants
  const resources = world
    .resources()
    .map((r) => `${r.tenant} ${r.kind}/${r.name} ${JSON.stringify(r.spec)}`)
    .sort()
  const statuses = (yield* tenants.all)
    .map((t) => `${t.value.name} ${t.value.status.phase} gen=${t.value.generation} observed=${t.value.status.observedGeneration}`)
    .sort()
  return { resources, statuses }
})

describe("Reconciler reliability", () => {
  it.live(
    `crashed after every 7th write, failing every 11th call and seeing stale state on every 5th list, ${TENANTS} tenants converge exactly as undisturbed`,
    () =>
      Effect.gen(function* () {
        const reference = yield* Effect.gen(function* () {
          const never = yield* Deferred.make<void>()
          yield* onboarding
          yield* runUntilIdleOrCrash(never)
          yield* changes
          yield* runUntilIdleOrCrash(never)
          return yield* snapshot
        }).pipe(Effect.provide(Layer.fresh(base)))

        const disturbed = yield* Effect.gen(function* () {
          const world = yield* MemoryWorld
          let crashes = 0
          let crash = yield* Deferred.make<void>()
          // The writer dies right after every 7th write; the rest of the process follows.
          world.onWrite((writes) => {
            if (writes % 7 !== 0) return false
            Deferred.doneUnsafe(crash, Effect.void)
            return true
          })
          world.failEvery(11)
          world.staleEvery(5)
          const convergeThroughCrashes = Effect.gen(function* () {
            while (yield* runUntilIdleOrCrash(crash)) {
              crashes++
              crash = yield* Deferred.make<void>()
              if (crashes > 2_000) return yield* Effect.die(new Error("no convergence after 2,000 crashes"))
            }
          })
          yield* onboarding
          yield* convergeThroughCrashes
          yield* changes
          yield* convergeThroughCrashes
          world.onWrite(undefined)
          world.failEvery(0)
          world.staleEvery(0)
          // One last undisturbed pass settles statuses whose write was cut off by a crash.
          const never = yield* Deferred.make<void>()
          yield* runUntilIdleOrCrash(never)
          return { ...(yield* snapshot), crashes }
        }).pipe(Effect.provide(Layer.fresh(base)))

        assert.isAbove(disturbed.crashes, 50, "the reconciler really was crashed many times")
        assert.deepStrictEqual(disturbed.resources, reference.resources)
        assert.deepStrictEqual(disturbed.statuses, reference.statuses)
        const live = reference.statuses.filter((s) => !s.includes(" Suspended ") && !s.includes(" Ready "))
        assert.deepStrictEqual(live, [], "the reference run itself converged")
      }),
    240_000
  )
})
