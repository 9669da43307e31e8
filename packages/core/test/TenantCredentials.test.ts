import { randomBytes } from "node:crypto"
import { Audit, Clawfleet, Fleet, RecordStore, Secrets, Store, TenantCredentials, VirtualKeys, withActor } from "@clawfleet/core"
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Logger, Redacted } from "effect"
import { SqlClient } from "effect/sql"

const newKek = () => Redacted.make(randomBytes(32).toString("base64"))
const KEK = newKek()

type Env = TenantCredentials | VirtualKeys | Clawfleet.Services

const envOver = (store: Layer.Layer<Store.Services, unknown>) =>
  TenantCredentials.layer({ keyEncryptionKey: KEK }).pipe(
    Layer.provideMerge(VirtualKeys.layer),
    Layer.provideMerge(Layer.fresh(Clawfleet.layer(store)))
  )

/** Tenants `ada` and `bob` exist, owned by Ada and Bob. */
const seed = Effect.gen(function* () {
  const fleet = yield* Fleet
  for (const id of ["ada", "bob"]) {
    yield* fleet.onboardPerson({ person: { id, email: `${id}@example.com`, displayName: id }, tenant: false })
    yield* fleet.createTenant({ name: id, spec: { owner: id } })
  }
}).pipe(withActor("admin@example.com"))

const tagOf = (e: { readonly _tag: string; readonly reason?: { readonly _tag: string } }) =>
  e.reason === undefined ? e._tag : `${e._tag}/${e.reason._tag}`

const resolvesTo = (key: Redacted.Redacted<string>) =>
  Effect.flatMap(Effect.service(VirtualKeys), (vk) => Effect.map(vk.resolve(Redacted.value(key)), (found) => found?.tenant))

const platformKeys = (tenant: string) =>
  Effect.flatMap(Effect.service(VirtualKeys), (vk) => Effect.map(vk.list(tenant), (keys) => keys.filter((k) => k.label === "platform")))

const stored = (tenant: string) => Effect.flatMap(Effect.service(RecordStore), (store) => store.get("tenant_credentials", tenant))
const sealedOf = (tenant: string) => Effect.map(stored(tenant), (row) => (row?.data as { sealed: string } | undefined)?.sealed)

/**
 * Yields after every read: the memory store answers synchronously, so without it each caller
 * would run to its end before the next one starts, and none would ever act on a stale read.
 */
const yieldingReads = Layer.effect(
  RecordStore,
  Effect.map(Effect.service(RecordStore), (store) =>
    RecordStore.of({ ...store, get: (table, id) => Effect.tap(store.get(table, id), () => Effect.yieldNow) })
  )
)

/** The same behaviours over every store: a fresh store per test. */
const conformance = (name: string, makeStore: () => Layer.Layer<Store.Services, unknown>, timeout?: number) =>
  describe(`TenantCredentials on ${name}`, () => {
    const test = (
      title: string,
      body: (tc: TenantCredentials["Service"], warnings: ReadonlyArray<string>) => Effect.Effect<void, unknown, Env>
    ) =>
      it.live(
        title,
        () => {
          const warnings: Array<string> = []
          const capture = Logger.make((options) => void warnings.push([options.message].flat().join(" ")))
          return Effect.gen(function* () {
            yield* seed
            yield* body(yield* TenantCredentials, warnings)
          }).pipe(Effect.provide(Layer.merge(envOver(makeStore()), Logger.layer([capture]))))
        },
        timeout
      )

    test("issues a key on first use that resolves to the tenant, and returns it again", (tc) =>
      Effect.gen(function* () {
        const key = yield* tc.keyOf("ada")
        assert.match(Redacted.value(key), /^cfk_/)
        assert.strictEqual(yield* resolvesTo(key), "ada")
        assert.strictEqual(Redacted.value(yield* tc.keyOf("ada")), Redacted.value(key))
        assert.strictEqual((yield* platformKeys("ada")).length, 1)
        assert.notStrictEqual(Redacted.value(yield* tc.keyOf("bob")), Redacted.value(key))
      }))

    test("issues a new key once the stored one is revoked", (tc) =>
      Effect.gen(function* () {
        const first = yield* tc.keyOf("ada")
        assert.strictEqual(yield* (yield* VirtualKeys).revokeTenant("ada"), 1)
        const second = yield* tc.keyOf("ada")
        assert.notStrictEqual(Redacted.value(second), Redacted.value(first))
        assert.isUndefined(yield* resolvesTo(first))
        assert.strictEqual(yield* resolvesTo(second), "ada")
        assert.strictEqual(Redacted.value(yield* tc.keyOf("ada")), Redacted.value(second))
      }))

    test("rotates: the old key stops resolving and the new one is what keyOf returns", (tc) =>
      Effect.gen(function* () {
        const first = yield* tc.keyOf("ada")
        const rotated = yield* tc.rotate("ada")
        assert.notStrictEqual(Redacted.value(rotated), Redacted.value(first))
        assert.isUndefined(yield* resolvesTo(first))
        assert.strictEqual(yield* resolvesTo(rotated), "ada")
        assert.strictEqual(Redacted.value(yield* tc.keyOf("ada")), Redacted.value(rotated))
        assert.deepStrictEqual(
          (yield* platformKeys("ada")).map((k) => k.id),
          [(yield* (yield* VirtualKeys).resolve(Redacted.value(rotated)))!.id]
        )
        // A tenant with no key yet simply gets one.
        assert.strictEqual(yield* resolvesTo(yield* tc.rotate("bob")), "bob")
      }))

    test("forgets: the record goes, the key is revoked, a second forget does nothing", (tc) =>
      Effect.gen(function* () {
        const key = yield* tc.keyOf("ada")
        yield* tc.forget("ada")
        assert.isUndefined(yield* stored("ada"))
        assert.isUndefined(yield* resolvesTo(key))
        assert.deepStrictEqual(yield* platformKeys("ada"), [])
        yield* tc.forget("ada")
        yield* tc.forget("nobody")
        assert.strictEqual(yield* resolvesTo(yield* tc.keyOf("ada")), "ada")
      }))

    test("fails NotFound for an unknown tenant and stores nothing", (tc) =>
      Effect.gen(function* () {
        const e = yield* Effect.flip(tc.keyOf("eve"))
        assert.strictEqual(tagOf(e), "StoreError/NotFound")
        assert.match(e.message, /tenant "eve" does not exist/)
        assert.strictEqual(tagOf(yield* Effect.flip(tc.rotate("eve"))), "StoreError/NotFound")
        assert.isUndefined(yield* stored("eve"))
      }))

    test("concurrent first calls all get one key, and only that key is issued", () =>
      Effect.gen(function* () {
        const tc = yield* Effect.provide(
          Effect.service(TenantCredentials),
          TenantCredentials.layer({ keyEncryptionKey: KEK }).pipe(Layer.provide(yieldingReads))
        )
        const keys = yield* Effect.all(
          Array.from({ length: 20 }, () => tc.keyOf("ada")),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(new Set(keys.map(Redacted.value)).size, 1)
        const listed = yield* platformKeys("ada")
        assert.strictEqual(listed.length, 1)
        assert.strictEqual(listed[0]!.id, (yield* (yield* VirtualKeys).resolve(Redacted.value(keys[0]!)))!.id)
      }))

    test("replaces a record that does not open under its key-encryption key, revoking the old key", (tc, warnings) =>
      Effect.gen(function* () {
        const first = yield* tc.keyOf("ada")
        const other = yield* Effect.provide(Effect.service(TenantCredentials), TenantCredentials.layer({ keyEncryptionKey: newKek() }))
        const replaced = yield* other.keyOf("ada")
        assert.notStrictEqual(Redacted.value(replaced), Redacted.value(first))
        assert.isUndefined(yield* resolvesTo(first))
        assert.strictEqual(yield* resolvesTo(replaced), "ada")
        assert.strictEqual(Redacted.value(yield* other.keyOf("ada")), Redacted.value(replaced))
        assert.strictEqual((yield* platformKeys("ada")).length, 1)
        assert.deepStrictEqual(warnings, ["tenant credential of ada does not open under this key-encryption key; issuing a new key"])
        const events = (yield* (yield* Audit).list({ limit: 1000 })).filter((e) => e.action === "tenant-credential.issue")
        assert.deepStrictEqual(
          events.map((e) => e.after),
          [{ reason: "missing" }, { reason: "unsealable" }]
        )
      }))

    test("replacing an edited record revokes the tenant's stray platform keys, never another tenant's", (tc) =>
      Effect.gen(function* () {
        const bobKey = yield* tc.keyOf("bob")
        const adaKey = yield* tc.keyOf("ada")
        const store = yield* RecordStore
        const ada = (yield* store.get("tenant_credentials", "ada"))!
        const bobId = (yield* (yield* VirtualKeys).resolve(Redacted.value(bobKey)))!.id
        yield* store.update("tenant_credentials", "ada", ada.version, { ...(ada.data as object), keyId: bobId, sealed: "v1:a.b.c" })
        const replaced = yield* tc.keyOf("ada")
        assert.strictEqual(yield* resolvesTo(replaced), "ada")
        assert.isUndefined(yield* resolvesTo(adaKey))
        assert.strictEqual((yield* platformKeys("ada")).length, 1)
        assert.strictEqual(yield* resolvesTo(bobKey), "bob")
      }))

    test("audits issue, rotate and forget by tenant, never with the key or its sealed form", (tc) =>
      Effect.gen(function* () {
        const keys: Array<string> = []
        const sealed: Array<string> = []
        const note = (key: Redacted.Redacted<string>) =>
          Effect.gen(function* () {
            keys.push(Redacted.value(key))
            sealed.push((yield* sealedOf("ada"))!)
          })
        yield* note(yield* tc.keyOf("ada"))
        yield* (yield* VirtualKeys).revokeTenant("ada")
        yield* note(yield* tc.keyOf("ada"))
        yield* note(yield* tc.rotate("ada").pipe(withActor("admin@example.com")))
        yield* tc.forget("ada").pipe(withActor("admin@example.com"))

        const all = yield* (yield* Audit).list({ limit: 1000 })
        const own = all.filter((e) => e.target.kind === "tenant credential")
        assert.deepStrictEqual(
          own.map((e) => [e.actor, e.action, e.target.id]),
          [
            ["system", "tenant-credential.issue", "ada"],
            ["system", "tenant-credential.issue", "ada"],
            ["admin@example.com", "tenant-credential.rotate", "ada"],
            ["admin@example.com", "tenant-credential.forget", "ada"]
          ]
        )
        assert.deepStrictEqual(
          own.map((e) => e.after),
          [{ reason: "missing" }, { reason: "revoked" }, undefined, undefined]
        )
        assert.notInclude(JSON.stringify(own), "cfk_")
        // The virtual keys' own events show a hint (`cfk_` and four characters), never a key.
        const json = JSON.stringify(all)
        for (const s of [...keys, ...sealed, "v1:"]) assert.notInclude(json, s)
      }))

    test("resolves platform references to the key and passes every other one on", (tc) =>
      Effect.gen(function* () {
        const key = Redacted.value(yield* tc.keyOf("ada"))
        const secrets = TenantCredentials.layerSecrets.pipe(
          Layer.provide(Secrets.layerMemory({ "clawfleet-tenant-ada/gateway-token": "gw-ada", "tools/notes/token": "notes" }))
        )
        const resolve = (name: string, key: string) =>
          Effect.flatMap(Effect.service(Secrets), (s) => s.resolve({ name, key })).pipe(Effect.provide(secrets))
        for (const k of ["model-key", "tool-token", "agent-key"]) {
          assert.strictEqual(Redacted.value(yield* resolve("clawfleet-tenant-ada", k)), key)
        }
        assert.strictEqual(Redacted.value(yield* resolve("clawfleet-tenant-ada", "gateway-token")), "gw-ada")
        assert.strictEqual(Redacted.value(yield* resolve("tools/notes", "token")), "notes")
        assert.strictEqual(tagOf(yield* Effect.flip(resolve("tools/linear", "token"))), "SecretError/NotFound")
        const unknown = yield* Effect.flip(resolve("clawfleet-tenant-eve", "model-key"))
        assert.strictEqual(tagOf(unknown), "SecretError/NotFound")
        assert.match(unknown.message, /clawfleet-tenant-eve/)
        // A row this version cannot read is the store's fault, not a missing secret.
        const store = yield* RecordStore
        const bob = yield* store.insert("tenant_credentials", "bob", { tenant: "bob" })
        const broken = yield* Effect.flip(resolve("clawfleet-tenant-bob", "tool-token"))
        assert.strictEqual(tagOf(broken), "SecretError/Unavailable")
        assert.isFalse(broken.isRetryable)
        yield* store.remove("tenant_credentials", "bob", bob.version)
        assert.strictEqual(yield* resolvesTo(yield* resolve("clawfleet-tenant-bob", "tool-token")), "bob")
      }))
  })

conformance("the memory store", () => Store.layerMemory)
conformance("PGlite", () => Store.layerPglite(), 30_000)

const pgUrl = process.env.CLAWFLEET_TEST_PG_URL
if (pgUrl === undefined) {
  describe("TenantCredentials on PostgreSQL", () => {
    it.skip("needs a PostgreSQL server: set CLAWFLEET_TEST_PG_URL (for example postgres://postgres@127.0.0.1:5432/test); .ci/run sets it", () => {})
  })
} else {
  let runs = 0
  // A schema of its own per test, dropped afterwards, so tests never see each other's rows.
  conformance(
    "PostgreSQL",
    () => {
      const schema = `cf_tc_${process.pid}_${Date.now().toString(36)}_${runs++}`
      const dropSchema = Layer.effectDiscard(
        Effect.addFinalizer(() =>
          SqlClient.SqlClient.use((sql) => sql.unsafe(`drop schema if exists "${schema}" cascade`)).pipe(Effect.orDie)
        )
      )
      return Layer.mergeAll(Store.layerSql({ schema }), dropSchema).pipe(
        Layer.provideMerge(PgClient.layer({ url: Redacted.make(pgUrl), maxConnections: 10 }))
      )
    },
    30_000
  )
}

describe("TenantCredentials.layerSecrets", () => {
  const env = { CLAWFLEET_SECRET_TOOLS_NOTES_TOKEN: "notes" }
  // As the class example composes it, over a store of its own.
  const secrets = TenantCredentials.layerSecrets.pipe(
    Layer.provide(Secrets.layerEnv().pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))),
    Layer.provide(TenantCredentials.layer({ keyEncryptionKey: KEK })),
    Layer.provideMerge(VirtualKeys.layer),
    Layer.provideMerge(Layer.fresh(Clawfleet.layerMemory))
  )

  it.effect("wraps Secrets.layerEnv as the class example shows", () =>
    Effect.gen(function* () {
      yield* seed
      const s = yield* Secrets
      const key = yield* s.resolve({ name: "clawfleet-tenant-ada", key: "agent-key" })
      assert.strictEqual(yield* resolvesTo(key), "ada")
      assert.strictEqual(Redacted.value(yield* s.resolve({ name: "tools/notes", key: "token" })), "notes")
    }).pipe(Effect.provide(secrets))
  )
})

describe("TenantCredentials.layer", () => {
  it("requires a key-encryption key of 32 bytes", () => {
    assert.throws(() => TenantCredentials.layer({ keyEncryptionKey: Redacted.make("c2hvcnQ=") }), /32 bytes/)
  })
})
