import { Clawfleet, Fleet, Reconciler, ReconcilerConfig, RuntimeCompiler, RuntimeProvider, Store, Tenants } from "@clawfleet/core"
import { MemoryProvider } from "@clawfleet/core/testing"
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Two reconciler replicas, each with its own connection pool, on one real PostgreSQL and one
 * shared world: they must never work on the same tenant at once, and together converge them all.
 */

const pgUrl = process.env.CLAWFLEET_TEST_PG_URL
const TENANTS = 1000

const compiler = RuntimeCompiler.layerWith(({ access }) => Effect.succeed({ models: access.models }))

// Wraps the shared provider so each replica marks the tenant it is inside; a second replica
// entering the same tenant is a violation.
const guarded = (replica: string, inside: Map<string, string>, violations: Array<string>, shared: RuntimeProvider["Service"]) => {
  const guard =
    <A, E>(tenant: string, f: () => Effect.Effect<A, E>) =>
    (): Effect.Effect<A, E> =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          const other = inside.get(tenant)
          if (other !== undefined && other !== replica) violations.push(`${replica} entered ${tenant} held by ${other}`)
          inside.set(tenant, replica)
        }),
        () => Effect.andThen(Effect.yieldNow, f()),
        () => Effect.sync(() => inside.delete(tenant))
      )
  return RuntimeProvider.of({
    describe: shared.describe,
    plan: (rt) => shared.plan(rt),
    apply: (rt) => guard(rt.tenant, () => shared.apply(rt))(),
    observe: (t) => guard(t, () => shared.observe(t))(),
    suspend: (rt) => guard(rt.tenant, () => shared.suspend(rt))(),
    resume: (rt) => guard(rt.tenant, () => shared.resume(rt))(),
    destroy: (t, o) => guard(t, () => shared.destroy(t, o))()
  })
}

if (pgUrl === undefined) {
  describe("Reconciler on PostgreSQL", () => {
    it.skip("needs a PostgreSQL server: set CLAWFLEET_TEST_PG_URL; .ci/run sets it", () => {})
  })
} else {
  describe("Reconciler on PostgreSQL", () => {
    it.live(
      `two replicas never share a tenant and together converge ${TENANTS}`,
      () =>
        Effect.gen(function* () {
          const schema = `cf_rec_${process.pid}_${Date.now().toString(36)}`
          const pool = () => PgClient.layer({ url: Redacted.make(pgUrl), maxConnections: 6 })
          const storeFor = () => Store.layerSql({ schema }).pipe(Layer.provideMerge(pool()))
          yield* Effect.addFinalizer(() =>
            SqlClient.SqlClient.use((sql) => sql.unsafe(`drop schema if exists "${schema}" cascade`)).pipe(
              Effect.provide(pool()),
              Effect.orDie
            )
          )
          const shared = yield* Layer.build(MemoryProvider.layer())
          const sharedProvider = Context.get(shared, RuntimeProvider)
          const inside = new Map<string, string>()
          const violations: Array<string> = []

          const replica = (name: string) =>
            Reconciler.layer.pipe(
              Layer.provideMerge(compiler),
              Layer.provideMerge(Layer.succeed(RuntimeProvider, guarded(name, inside, violations, sharedProvider))),
              Layer.provideMerge(Clawfleet.layer(storeFor())),
              Layer.provide(
                Layer.succeed(ReconcilerConfig, {
                  concurrency: 8,
                  resyncMs: 60_000,
                  backoff: { baseMs: 5, capMs: 200 },
                  claimTtlMs: 30_000,
                  retention: "keep",
                  holder: name
                })
              )
            )

          const a = yield* Layer.build(replica("replica-a"))
          const b = yield* Layer.build(replica("replica-b"))

          yield* Effect.gen(function* () {
            const fleet = yield* Fleet
            yield* Effect.forEach(
              Array.from({ length: TENANTS }, (_, i) => i),
              (i) => fleet.onboardPerson({ person: { id: `p${i}`, email: `p${i}@example.com`, displayName: `P${i}` } }),
              { concurrency: 6, discard: true }
            )
          }).pipe(Effect.provide(a))

          const ra = Context.get(a, Reconciler)
          const rb = Context.get(b, Reconciler)
          yield* ra.start
          yield* rb.start
          yield* ra.resyncAll
          yield* rb.resyncAll
          yield* Effect.repeat(Effect.sleep("50 millis"), { until: () => ra.pending() === 0 && rb.pending() === 0 })

          const tenants = yield* Tenants.use((t) => t.all).pipe(Effect.provide(b))
          assert.strictEqual(tenants.length, TENANTS)
          const notReady = tenants.filter((t) => t.value.status.phase !== "Ready").map((t) => t.value.name)
          assert.deepStrictEqual(notReady, [])
          assert.deepStrictEqual(violations, [], "no tenant was worked on by both replicas at once")
        }).pipe(Effect.scoped),
      300_000
    )
  })
}
