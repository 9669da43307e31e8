import { createDecipheriv, randomBytes } from "node:crypto"
import { Audit, Clawfleet, Fleet, RecordStore, Store, withActor } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer, Redacted, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Tool } from "../src/domain/Catalog.ts"
import { PersonCredentials } from "../src/secrets/PersonCredentials.ts"

const newKek = () => Redacted.make(randomBytes(32).toString("base64"))
const KEK = newKek()
const TOKEN = "gho_ada-token-0123456789abcdef"

const env = PersonCredentials.layer({ keyEncryptionKey: KEK }).pipe(Layer.provideMerge(Layer.fresh(Clawfleet.layer(Store.layerMemory))))

/** Ada and Bob exist; `github` acts as each person, `notes` takes one shared secret. */
const seed = Effect.gen(function* () {
  const fleet = yield* Fleet
  for (const id of ["ada", "bob"]) {
    yield* fleet.onboardPerson({ person: { id, email: `${id}@example.com`, displayName: id }, tenant: false })
  }
  yield* fleet.putCatalogItem("tool", { name: "github", url: "https://mcp.github.test/mcp", credentialMode: "per-person" })
  yield* fleet.putCatalogItem("tool", { name: "notes", url: "https://notes.test/mcp", credential: { name: "tools/notes", key: "token" } })
}).pipe(withActor("admin@example.com"))

const run = <A, E>(body: (pc: PersonCredentials["Service"]) => Effect.Effect<A, E, Layer.Success<typeof env>>, layer = env) =>
  Effect.gen(function* () {
    yield* seed
    return yield* body(yield* PersonCredentials)
  }).pipe(Effect.provide(layer))

const connect = (pc: PersonCredentials["Service"], person = "ada", token = TOKEN, expiresAt?: DateTime.Utc) =>
  pc
    .set({ tool: "github", person, token: Redacted.make(token), ...(expiresAt ? { expiresAt } : {}) })
    .pipe(withActor(`${person}@example.com`))

const stored = (id: string) => Effect.flatMap(Effect.service(RecordStore), (store) => store.get("person_credentials", id))

/** Every spelling of the token a careless encoder could leave behind. */
const spellings = (token: string) => [
  token,
  Buffer.from(token).toString("base64"),
  Buffer.from(token).toString("base64url"),
  Buffer.from(token).toString("hex")
]

const tagOf = (e: unknown) => {
  const err = e as { _tag: string; reason?: { _tag: string } }
  return err.reason === undefined ? err._tag : `${err._tag}/${err.reason._tag}`
}

describe("PersonCredentials", () => {
  it.effect("seals a token and opens it again, replacing it on a second connect", () =>
    run((pc) =>
      Effect.gen(function* () {
        yield* connect(pc)
        assert.strictEqual(Redacted.value((yield* pc.get("github", "ada"))!), TOKEN)
        assert.isUndefined(yield* pc.get("github", "bob"))
        yield* connect(pc, "ada", "gho_rotated")
        assert.strictEqual(Redacted.value((yield* pc.get("github", "ada"))!), "gho_rotated")
        assert.strictEqual((yield* pc.list("ada")).length, 1)
      })
    )
  )

  it.effect("stores neither the token nor anything that opens without the key-encryption key", () =>
    run((pc) =>
      Effect.gen(function* () {
        yield* connect(pc)
        const row = (yield* stored("github/ada"))!
        const json = JSON.stringify(row)
        for (const s of [...spellings(TOKEN), Redacted.value(KEK)]) assert.notInclude(json, s)
        const sealed = (row.data as { sealed: string }).sealed
        const [iv, tag, data] = sealed.replace(/^v1:/, "").split(".")
        const open = (key: Buffer, aad: string) => {
          const d = createDecipheriv("aes-256-gcm", key, Buffer.from(iv!, "base64url")).setAAD(Buffer.from(aad))
          d.setAuthTag(Buffer.from(tag!, "base64url"))
          return Buffer.concat([d.update(Buffer.from(data!, "base64url")), d.final()]).toString("utf8")
        }
        assert.throws(() => open(randomBytes(32), "github/ada"))
        assert.throws(() => open(Buffer.from(Redacted.value(KEK), "base64"), "github/bob"), undefined, undefined, "bound to its row")
        assert.strictEqual(open(Buffer.from(Redacted.value(KEK), "base64"), "github/ada"), TOKEN)
      })
    )
  )

  it.effect("fails as Corrupt under another key or when a sealed token is moved to another row", () =>
    run((pc) =>
      Effect.gen(function* () {
        yield* connect(pc)
        const other = PersonCredentials.layer({ keyEncryptionKey: newKek() })
        const wrongKey = yield* Effect.flip(
          Effect.flatMap(Effect.service(PersonCredentials), (p) => p.get("github", "ada")).pipe(Effect.provide(other))
        )
        assert.strictEqual(tagOf(wrongKey), "StoreError/Corrupt")
        assert.notInclude(wrongKey.message, TOKEN)

        const row = (yield* stored("github/ada"))!
        yield* (yield* RecordStore).insert("person_credentials", "github/bob", { ...(row.data as object), person: "bob" })
        assert.strictEqual(tagOf(yield* Effect.flip(pc.get("github", "bob"))), "StoreError/Corrupt")
        assert.strictEqual(Redacted.value((yield* pc.get("github", "ada"))!), TOKEN)
      })
    )
  )

  it.effect("answers undefined once a token has expired, and lists it as expired", () =>
    run((pc) =>
      Effect.gen(function* () {
        const now = yield* DateTime.now
        yield* connect(pc, "ada", TOKEN, DateTime.add(now, { hours: 1 }))
        assert.isDefined(yield* pc.get("github", "ada"))
        assert.isFalse((yield* pc.list("ada"))[0]!.expired)
        yield* TestClock.adjust("1 hour")
        assert.isUndefined(yield* pc.get("github", "ada"))
        assert.isTrue((yield* pc.list("ada"))[0]!.expired)
      })
    )
  )

  it.effect("audits writes by tool and person only, and lists metadata only", () =>
    run((pc) =>
      Effect.gen(function* () {
        yield* connect(pc)
        yield* connect(pc, "bob", "gho_bob-token")
        const sealed = (row: unknown) => ((row as { data: { sealed: string } }).data as { sealed: string }).sealed
        const sealedAda = sealed(yield* stored("github/ada"))
        const list = yield* pc.list("ada")
        assert.deepStrictEqual(
          list.map((i) => Object.keys(i).sort()),
          [["expired", "person", "tool", "updatedAt"]]
        )
        assert.deepStrictEqual([list[0]!.tool, list[0]!.person], ["github", "ada"])
        assert.notInclude(JSON.stringify(list), TOKEN)

        yield* pc.remove("github", "ada").pipe(withActor("ada@example.com"))
        assert.isUndefined(yield* pc.get("github", "ada"))
        assert.strictEqual(yield* pc.removeAllOf("bob"), 1)
        assert.deepStrictEqual(yield* pc.list("bob"), [])

        const events = (yield* (yield* Audit).list({ limit: 1000 })).filter((e) => e.target.kind === "person credential")
        assert.deepStrictEqual(
          events.map((e) => [e.actor, e.action, e.target.id]),
          [
            ["ada@example.com", "person-credential.set", "github/ada"],
            ["bob@example.com", "person-credential.set", "github/bob"],
            ["ada@example.com", "person-credential.remove", "github/ada"],
            ["system", "person-credential.remove", "github/bob"]
          ]
        )
        const json = JSON.stringify(events)
        for (const s of [...spellings(TOKEN), ...spellings("gho_bob-token"), sealedAda, "v1:"]) assert.notInclude(json, s)
      })
    )
  )

  it.effect("refuses unknown tools and people, shared tools, malformed tokens and past expiries", () =>
    run((pc) =>
      Effect.gen(function* () {
        const refused = (input: Partial<Parameters<typeof pc.set>[0]>) =>
          Effect.map(Effect.flip(pc.set({ tool: "github", person: "ada", token: Redacted.make(TOKEN), ...input })), (e) => [
            tagOf(e),
            e.message
          ])
        const past = DateTime.subtract(yield* DateTime.now, { seconds: 1 })
        const cases = [
          [{ tool: "linear" }, "StoreError/NotFound", /tool "linear" does not exist/],
          [{ tool: "notes" }, "InvalidState", /shared credential/],
          [{ person: "eve" }, "StoreError/NotFound", /person "eve" does not exist/],
          [{ token: Redacted.make("") }, "ValidationError", /token/],
          [{ token: Redacted.make("abc\r\nX-Evil: 1") }, "ValidationError", /visible ASCII/],
          [{ expiresAt: past }, "ValidationError", /expiresAt: must be in the future/]
        ] as const
        for (const [input, tag, message] of cases) {
          const [got, text] = yield* refused(input)
          assert.strictEqual(got, tag)
          assert.match(text!, message)
        }
        assert.strictEqual(tagOf(yield* Effect.flip(pc.remove("github", "ada"))), "StoreError/NotFound")
        assert.deepStrictEqual(yield* pc.list("ada"), [])
      })
    )
  )

  it.effect(
    "keeps tokens in PostgreSQL's person_credentials table, listed by person",
    () =>
      run(
        (pc) =>
          Effect.gen(function* () {
            yield* connect(pc)
            yield* connect(pc, "bob", "gho_bob-token")
            assert.strictEqual(Redacted.value((yield* pc.get("github", "bob"))!), "gho_bob-token")
            assert.deepStrictEqual(
              (yield* pc.list("ada")).map((i) => i.person),
              ["ada"]
            )
            assert.strictEqual(yield* pc.removeAllOf("ada"), 1)
            assert.isUndefined(yield* pc.get("github", "ada"))
          }),
        PersonCredentials.layer({ keyEncryptionKey: KEK }).pipe(Layer.provideMerge(Clawfleet.layerPglite()))
      ),
    30_000
  )

  it("requires a key-encryption key of 32 bytes", () => {
    assert.throws(() => PersonCredentials.layer({ keyEncryptionKey: Redacted.make("c2hvcnQ=") }), /32 bytes/)
  })

  it("keeps existing tools shared and takes no shared credential on a per-person tool", () => {
    const decode = Schema.decodeUnknownSync(Tool)
    assert.strictEqual(decode({ name: "notes", url: "https://notes.test/mcp" }).credentialMode, "shared")
    assert.throws(
      () =>
        decode({ name: "gh", url: "https://gh.test/mcp", credentialMode: "per-person", credential: { name: "tools/gh", key: "token" } }),
      /must be absent for a per-person tool/
    )
    assert.throws(() => decode({ name: "gh", url: "https://gh.test/mcp", credentialMode: "personal" }))
  })
})
