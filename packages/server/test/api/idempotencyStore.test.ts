import { ApiToken, Store } from "@clawfleet/core"
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Context, DateTime, Deferred, Effect, Fiber, Layer, Redacted, Schema, type Scope } from "effect"
import { SqlClient } from "effect/sql"
import { Idempotency } from "../../src/api/Idempotency.ts"
import { successOf } from "../../src/api/idempotencySuccess.ts"

// What the operations under test answer: a class with a date, as the API's creates do.
class Made extends Schema.Class<Made>("test/Made")({ n: Schema.Number, at: Schema.DateTimeUtcFromString }) {}

const success = (operation: string) => (operation.startsWith("test.") ? Made : successOf(operation)) as Schema.Codec<unknown, unknown>

interface Options {
  readonly retentionMillis?: number
  readonly waitMillis?: number
}

type Service = Idempotency["Service"]
/** Two replicas of the service over one store (for memory: one process, so the same service twice). */
type Replicas = (options: Options) => Effect.Effect<readonly [Service, Service], never, Scope.Scope>

const at = DateTime.makeUnsafe("2026-01-02T03:04:05.000Z")

/** An operation that counts its runs and answers the count. */
const counted = () => {
  let runs = 0
  return {
    runs: () => runs,
    op: Effect.sync(() => new Made({ n: ++runs, at }))
  }
}

const request = (key: string, body: unknown, caller = "ada", operation = "test.create") => ({ caller, operation, key, body })

const suite = (name: string, replicas: Replicas, shared: boolean) =>
  describe(`Idempotency over ${name}`, () => {
    it.live("the same key and body answer the first success, of the same type, without running again", () =>
      Effect.gen(function* () {
        const [one, two] = yield* replicas({})
        const { runs, op } = counted()
        const first = yield* one.run(request("k", { a: 1, b: 2 }), op)
        const again = yield* two.run(request("k", { b: 2, a: 1 }), op)
        assert.strictEqual(runs(), 1)
        assert.instanceOf(again, Made)
        assert.strictEqual(again.n, first.n)
        assert.strictEqual(DateTime.toEpochMillis(again.at), DateTime.toEpochMillis(at))
      })
    )

    it.live("the same key with another body or on another operation is refused with 422", () =>
      Effect.gen(function* () {
        const [one, two] = yield* replicas({})
        const { runs, op } = counted()
        yield* one.run(request("k", { a: 1 }), op)
        const other = yield* Effect.flip(two.run(request("k", { a: 2 }), op))
        assert.strictEqual(other._tag, "IdempotencyKeyReused")
        const elsewhere = yield* Effect.flip(two.run(request("k", { a: 1 }, "ada", "test.other"), op))
        assert.strictEqual(elsewhere._tag, "IdempotencyKeyReused")
        assert.strictEqual(runs(), 1)
      })
    )

    it.live("a failure is not remembered: the retry runs", () =>
      Effect.gen(function* () {
        const [one, two] = yield* replicas({})
        const { runs, op } = counted()
        assert.strictEqual(yield* Effect.flip(one.run(request("k", {}), Effect.fail("refused"))), "refused")
        const retried = yield* two.run(request("k", {}), op)
        assert.strictEqual(retried.n, 1)
        assert.strictEqual(runs(), 1)
      })
    )

    it.live("two requests racing with one key: the operation runs once and both get its answer", () =>
      Effect.gen(function* () {
        const [one, two] = yield* replicas({})
        const { runs, op } = counted()
        const started = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const slow = Effect.andThen(Deferred.succeed(started, undefined), Effect.andThen(Deferred.await(release), op))
        const first = yield* Effect.forkChild(one.run(request("k", {}), slow))
        yield* Deferred.await(started)
        const second = yield* Effect.forkChild(two.run(request("k", {}), slow))
        yield* Deferred.succeed(release, undefined)
        const answers = yield* Fiber.joinAll([first, second])
        assert.strictEqual(runs(), 1)
        assert.deepStrictEqual(
          answers.map((made) => made.n),
          [1, 1]
        )
      })
    )

    it.live("keys are per caller", () =>
      Effect.gen(function* () {
        const [one, two] = yield* replicas({})
        const { runs, op } = counted()
        yield* one.run(request("k", { a: 1 }, "ada"), op)
        const bob = yield* two.run(request("k", { a: 2 }, "bob"), op)
        assert.strictEqual(bob.n, 2)
        assert.strictEqual(runs(), 2)
      })
    )

    it.live("an expired key is forgotten: the same key runs again, with any body", () =>
      Effect.gen(function* () {
        const [one, two] = yield* replicas({ retentionMillis: 1 })
        const { runs, op } = counted()
        yield* one.run(request("k", { a: 1 }), op)
        yield* Effect.sleep(10)
        const later = yield* two.run(request("k", { a: 2 }), op)
        assert.strictEqual(later.n, 2)
        assert.strictEqual(runs(), 2)
      })
    )

    if (shared) {
      it.live("a retry that waits longer than waitMillis for the first answers 503, and later gets the answer", () =>
        Effect.gen(function* () {
          const [one, two] = yield* replicas({ waitMillis: 50 })
          const { runs, op } = counted()
          const started = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const slow = Effect.andThen(Deferred.succeed(started, undefined), Effect.andThen(Deferred.await(release), op))
          const first = yield* Effect.forkChild(one.run(request("k", {}), slow))
          yield* Deferred.await(started)
          const waited = yield* Effect.flip(two.run(request("k", {}), op))
          assert.strictEqual(waited._tag, "Unavailable")
          yield* Deferred.succeed(release, undefined)
          yield* Fiber.join(first)
          assert.strictEqual((yield* two.run(request("k", {}), op)).n, 1)
          assert.strictEqual(runs(), 1)
        })
      )

      it.live("an API answer is stored in its endpoint's encoding and replayed as the same value", () =>
        Effect.gen(function* () {
          const [one, two] = yield* replicas({})
          const record = new ApiToken({
            id: "a".repeat(64),
            person: "ada",
            scopes: ["people:read"],
            createdAt: at,
            expiresAt: at,
            hint: "cf_…aaaa"
          })
          const created = { token: "cf_secret", record }
          const op = Effect.succeed(created)
          yield* one.run(request("t", { scopes: ["people:read"] }, "ada", "tokens.create"), op)
          const replayed = yield* two.run(request("t", { scopes: ["people:read"] }, "ada", "tokens.create"), op)
          assert.notStrictEqual(replayed, created)
          const encode = Schema.encodeSync(Schema.toCodecJson(successOf("tokens.create")))
          assert.deepStrictEqual(encode(replayed), encode(created))
        })
      )
    }
  })

suite(
  "memory",
  (options) =>
    Effect.map(
      Layer.build(Idempotency.layerMemory(options)),
      (context) => [Context.get(context, Idempotency), Context.get(context, Idempotency)] as const
    ),
  false
)

// Two layers over one database, each with its own service: two replicas.
const overSql =
  (client: Layer.Layer<SqlClient.SqlClient, unknown>, schema: () => string): Replicas =>
  (options) =>
    Effect.gen(function* () {
      const sql = yield* Layer.build(client)
      const name = schema()
      const replica = () =>
        Layer.build(Idempotency.layerSql({ ...options, schema: name, success }).pipe(Layer.provide(Layer.succeedContext(sql))))
      const [one, two] = yield* Effect.all([replica(), replica()])
      return [Context.get(one, Idempotency), Context.get(two, Idempotency)] as const
    }).pipe(Effect.orDie)

suite(
  "PGlite",
  overSql(Store.pgliteClient(), () => "clawfleet"),
  true
)

const pgUrl = process.env.CLAWFLEET_TEST_PG_URL
if (pgUrl === undefined) {
  describe("Idempotency over PostgreSQL", () => {
    it.skip("needs a PostgreSQL server: set CLAWFLEET_TEST_PG_URL (for example postgres://postgres@127.0.0.1:5432/test); .ci/run sets it", () => {})
  })
} else {
  // A schema of its own per test, dropped afterwards, so tests and runs never see each other's keys.
  let n = 0
  const base = `cf_idem_${process.pid}_${Date.now().toString(36)}`
  const client = PgClient.layer({ url: Redacted.make(pgUrl), maxConnections: 10 }).pipe(Layer.orDie)
  const schemas: Array<string> = []
  suite(
    "PostgreSQL",
    (options) =>
      Effect.gen(function* () {
        const replicas = yield* overSql(client, () => {
          const name = `${base}_${++n}`
          schemas.push(name)
          return name
        })(options)
        yield* Effect.addFinalizer(() =>
          Effect.forEach(schemas.splice(0), (name) =>
            SqlClient.SqlClient.use((sql) => sql.unsafe(`drop schema if exists "${name}" cascade`))
          ).pipe(Effect.provide(client), Effect.orDie)
        )
        return replicas
      }),
    true
  )
}
