import { createHmac, randomBytes } from "node:crypto"
import { ApiTokens, Clawfleet, Fleet, RecordStore, SigningKeys, type TokenErrorReason, Tokens, withActor } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { exportJWK, generateKeyPair, SignJWT } from "jose"

const ISSUER = "https://clawfleet.example.com"
const AGENT = "clawfleet-agent:ada"

const identity = (options: { keyEncryptionKey?: string } = {}) =>
  Layer.mergeAll(Tokens.layer({ issuer: ISSUER }), ApiTokens.layer).pipe(
    Layer.provideMerge(
      SigningKeys.layer({
        overlapSeconds: 900,
        ...(options.keyEncryptionKey !== undefined ? { keyEncryptionKey: Redacted.make(options.keyEncryptionKey) } : {})
      })
    ),
    Layer.provideMerge(Layer.fresh(Clawfleet.layerMemory))
  )

/** Ada owns tenant ada; Bob owns tenant bob. The clock starts at 2026-11-30. */
const seeded = <A, E, R>(body: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(Date.parse("2026-11-30T12:00:00Z"))
    const fleet = yield* Fleet
    for (const id of ["ada", "bob"]) {
      yield* fleet.onboardPerson({ person: { id, email: `${id}@example.com`, displayName: id }, tenant: { name: id } })
    }
    return yield* body
  }).pipe(withActor("admin@example.com"), Effect.provide(identity()))

const refusal = <A>(effect: Effect.Effect<A, unknown, any>) =>
  Effect.map(Effect.exit(effect), (exit): TokenErrorReason | "accepted" | string => {
    if (Exit.isSuccess(exit)) return "accepted"
    const error = exit.cause.reasons.find((r) => r._tag === "Fail") as { error: { _tag: string; reason?: string } } | undefined
    return error?.error._tag === "TokenError" ? (error.error.reason as TokenErrorReason) : String(error?.error._tag)
  })

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

/** A token signed with the issuer's own current key, with claims of the test's choosing. */
const forge = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
  Effect.gen(function* () {
    const set = yield* (yield* SigningKeys).current
    const now = Math.floor(Date.parse("2026-11-30T12:00:00Z") / 1000)
    return yield* Effect.promise(() =>
      new SignJWT({ cf_kind: "access", ...claims })
        .setProtectedHeader({ alg: "EdDSA", kid: set.signer!.kid, ...header })
        .setIssuer((claims.iss as string) ?? ISSUER)
        .setAudience((claims.aud as string) ?? AGENT)
        .setSubject("ada")
        .setIssuedAt(now)
        .setNotBefore((claims.nbf as number) ?? now)
        .setExpirationTime((claims.exp as number) ?? now + 300)
        .setJti("j-1")
        .sign(set.signer!.privateKey)
    )
  })

describe("Tokens: what is accepted", () => {
  it.effect("issues an EdDSA token bound to its audience, tenant and person, and verifies it", () =>
    seeded(
      Effect.gen(function* () {
        const tokens = yield* Tokens
        const { token, claims } = yield* tokens.issue({ audience: AGENT, subject: "ada", tenant: "ada", person: "ada", scope: ["chat"] })
        const header = JSON.parse(Buffer.from(Redacted.value(token).split(".")[0]!, "base64url").toString())
        assert.strictEqual(header.alg, "EdDSA")
        assert.match(header.kid, /^k-/)
        assert.strictEqual(claims.expiresAt - claims.issuedAt, 300_000)
        const verified = yield* tokens.verify(Redacted.value(token), { audience: AGENT })
        assert.deepInclude(verified, { kind: "access", subject: "ada", tenant: "ada", person: "ada", issuer: ISSUER })
        assert.deepStrictEqual(verified.scope, ["chat"])
        const jwks = yield* (yield* SigningKeys).jwks
        assert.strictEqual(jwks.keys.length, 1)
        assert.deepInclude(jwks.keys[0]!, { kty: "OKP", crv: "Ed25519", alg: "EdDSA", kid: header.kid })
        assert.notProperty(jwks.keys[0]!, "d", "the JWKS holds no private part")
      })
    )
  )

  it.effect("refuses a lifetime over ten minutes or an empty audience", () =>
    seeded(
      Effect.gen(function* () {
        const tokens = yield* Tokens
        assert.strictEqual(yield* refusal(tokens.issue({ audience: AGENT, subject: "ada", ttlSeconds: 601 })), "ValidationError")
        assert.strictEqual(yield* refusal(tokens.issue({ audience: "", subject: "ada" })), "ValidationError")
        assert.strictEqual(yield* refusal(tokens.issue({ audience: AGENT, subject: "ada", ttlSeconds: 600 })), "accepted")
      })
    )
  )

  it.effect("rotates keys with overlap: old tokens verify until the overlap ends, new ones use the new key", () =>
    seeded(
      Effect.gen(function* () {
        const tokens = yield* Tokens
        const keys = yield* SigningKeys
        const old = yield* tokens.issue({ audience: AGENT, subject: "ada", ttlSeconds: 600 })
        const newKid = yield* keys.rotate
        const fresh = yield* tokens.issue({ audience: AGENT, subject: "ada" })
        assert.include(Buffer.from(Redacted.value(fresh.token).split(".")[0]!, "base64url").toString(), newKid)
        assert.strictEqual((yield* keys.jwks).keys.length, 2)
        assert.strictEqual(yield* refusal(tokens.verify(Redacted.value(old.token), { audience: AGENT })), "accepted")
        yield* TestClock.adjust("16 minutes")
        assert.strictEqual((yield* keys.jwks).keys.length, 1)
        assert.strictEqual(yield* refusal(tokens.verify(Redacted.value(old.token), { audience: AGENT })), "UnknownKey")
      })
    )
  )

  it.effect("seals private keys at rest with a key-encryption key, and stores them plain without one", () =>
    Effect.gen(function* () {
      const storedKey = Effect.gen(function* () {
        const tokens = yield* Tokens
        const { token } = yield* tokens.issue({ audience: AGENT, subject: "ada" })
        assert.strictEqual(yield* refusal(tokens.verify(Redacted.value(token), { audience: AGENT })), "accepted")
        const kid = (yield* (yield* SigningKeys).current).signer!.kid
        const row = yield* (yield* RecordStore).get("signing_keys", kid)
        return (row!.data as { privateJwk: string }).privateJwk
      })
      const sealed = yield* storedKey.pipe(Effect.provide(identity({ keyEncryptionKey: randomBytes(32).toString("base64") })))
      assert.match(sealed, /^sealed:/)
      assert.notInclude(sealed, '"d"')
      const plain = yield* storedKey.pipe(Effect.provide(identity()))
      assert.include(plain, '"d"')
    })
  )
})

describe("Tokens: misuse, each refused", () => {
  it.effect("expired", () =>
    seeded(
      Effect.gen(function* () {
        const tokens = yield* Tokens
        const { token } = yield* tokens.issue({ audience: AGENT, subject: "ada", ttlSeconds: 60 })
        yield* TestClock.adjust("66 seconds")
        assert.strictEqual(yield* refusal(tokens.verify(Redacted.value(token), { audience: AGENT })), "Expired")
      })
    )
  )

  it.effect("not yet valid", () =>
    seeded(
      Effect.gen(function* () {
        const nbf = Math.floor(Date.parse("2026-11-30T12:05:00Z") / 1000)
        const token = yield* forge({ nbf, exp: nbf + 300 })
        assert.strictEqual(yield* refusal((yield* Tokens).verify(token, { audience: AGENT })), "NotYetValid")
      })
    )
  )

  it.effect("wrong audience", () =>
    seeded(
      Effect.gen(function* () {
        const tokens = yield* Tokens
        const { token } = yield* tokens.issue({ audience: "clawfleet-agent:bob", subject: "ada" })
        assert.strictEqual(yield* refusal(tokens.verify(Redacted.value(token), { audience: AGENT })), "WrongAudience")
      })
    )
  )

  it.effect("wrong issuer", () =>
    seeded(
      Effect.gen(function* () {
        const token = yield* forge({ iss: "https://evil.example.com" })
        assert.strictEqual(yield* refusal((yield* Tokens).verify(token, { audience: AGENT })), "WrongIssuer")
      })
    )
  )

  it.effect("alg: none", () =>
    seeded(
      Effect.gen(function* () {
        const now = Math.floor(Date.parse("2026-11-30T12:00:00Z") / 1000)
        const body = { cf_kind: "access", iss: ISSUER, aud: AGENT, sub: "ada", iat: now, nbf: now, exp: now + 300, jti: "x" }
        const token = `${b64({ alg: "none", typ: "JWT" })}.${b64(body)}.`
        assert.strictEqual(yield* refusal((yield* Tokens).verify(token, { audience: AGENT })), "UnsupportedAlgorithm")
      })
    )
  )

  it.effect("HS256 signed with the public key", () =>
    seeded(
      Effect.gen(function* () {
        const jwk = (yield* (yield* SigningKeys).jwks).keys[0]!
        const now = Math.floor(Date.parse("2026-11-30T12:00:00Z") / 1000)
        const head = b64({ alg: "HS256", typ: "JWT", kid: jwk.kid })
        const body = b64({ cf_kind: "access", iss: ISSUER, aud: AGENT, sub: "ada", iat: now, nbf: now, exp: now + 300, jti: "x" })
        for (const secret of [JSON.stringify(jwk), Buffer.from(jwk.x!, "base64url")]) {
          const sig = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url")
          assert.strictEqual(yield* refusal((yield* Tokens).verify(`${head}.${body}.${sig}`, { audience: AGENT })), "UnsupportedAlgorithm")
        }
      })
    )
  )

  it.effect("unknown kid, and a key of our own shape that is not ours", () =>
    seeded(
      Effect.gen(function* () {
        const tokens = yield* Tokens
        yield* tokens.issue({ audience: AGENT, subject: "ada" })
        const { privateKey, publicKey } = yield* Effect.promise(() => generateKeyPair("EdDSA"))
        void (yield* Effect.promise(() => exportJWK(publicKey)))
        const now = Math.floor(Date.parse("2026-11-30T12:00:00Z") / 1000)
        const token = yield* Effect.promise(() =>
          new SignJWT({ cf_kind: "access" })
            .setProtectedHeader({ alg: "EdDSA", kid: "k-AAAAAAAAAAAAAAAA" })
            .setIssuer(ISSUER)
            .setAudience(AGENT)
            .setSubject("ada")
            .setIssuedAt(now)
            .setNotBefore(now)
            .setExpirationTime(now + 300)
            .setJti("x")
            .sign(privateKey)
        )
        assert.strictEqual(yield* refusal(tokens.verify(token, { audience: AGENT })), "UnknownKey")
        const kid = (yield* (yield* SigningKeys).current).signer!.kid
        const [, body, sig] = token.split(".")
        const stolenKid = `${b64({ alg: "EdDSA", kid })}.${body}.${sig}`
        assert.strictEqual(yield* refusal(tokens.verify(stolenKid, { audience: AGENT })), "BadSignature")
      })
    )
  )

  it.effect("tampered payload or signature, and garbage", () =>
    seeded(
      Effect.gen(function* () {
        const tokens = yield* Tokens
        const token = Redacted.value((yield* tokens.issue({ audience: AGENT, subject: "ada" })).token)
        const [head, body, sig] = token.split(".")
        const claims = JSON.parse(Buffer.from(body!, "base64url").toString())
        const escalated = `${head}.${b64({ ...claims, sub: "bob" })}.${sig}`
        assert.strictEqual(yield* refusal(tokens.verify(escalated, { audience: AGENT })), "BadSignature")
        const flipped = `${head}.${body}.${sig!.slice(0, -2)}${sig!.endsWith("AA") ? "BB" : "AA"}`
        assert.strictEqual(yield* refusal(tokens.verify(flipped, { audience: AGENT })), "BadSignature")
        assert.strictEqual(yield* refusal(tokens.verify("not-a-token", { audience: AGENT })), "Malformed")
      })
    )
  )

  it.effect("revoked epoch, for a tenant and for a person; tokens issued after still work", () =>
    seeded(
      Effect.gen(function* () {
        const tokens = yield* Tokens
        const forTenant = yield* tokens.issue({ audience: AGENT, subject: "ada", tenant: "ada" })
        const forPerson = yield* tokens.issue({ audience: AGENT, subject: "ada", person: "ada" })
        yield* tokens.revokeTenant("ada")
        assert.strictEqual(yield* refusal(tokens.verify(Redacted.value(forTenant.token), { audience: AGENT })), "Revoked")
        assert.strictEqual(yield* refusal(tokens.verify(Redacted.value(forPerson.token), { audience: AGENT })), "accepted")
        yield* tokens.revokePerson("ada")
        assert.strictEqual(yield* refusal(tokens.verify(Redacted.value(forPerson.token), { audience: AGENT })), "Revoked")
        const after = yield* tokens.issue({ audience: AGENT, subject: "ada", tenant: "ada", person: "ada" })
        assert.strictEqual(yield* refusal(tokens.verify(Redacted.value(after.token), { audience: AGENT })), "accepted")
      })
    )
  )

  it.effect("disabled person: their tokens die at once", () =>
    seeded(
      Effect.gen(function* () {
        const tokens = yield* Tokens
        const { token } = yield* tokens.issue({ audience: AGENT, subject: "ada", person: "ada" })
        yield* (yield* Fleet).offboardPerson("ada")
        assert.strictEqual(yield* refusal(tokens.verify(Redacted.value(token), { audience: AGENT })), "Disabled")
      })
    )
  )

  it.effect("reused pairing code, and a pairing token where an access token belongs", () =>
    seeded(
      Effect.gen(function* () {
        const tokens = yield* Tokens
        const { token } = yield* tokens.issuePairing({ person: "ada", tenant: "ada", audience: AGENT })
        const link = Redacted.value(token)
        assert.strictEqual(yield* refusal(tokens.verify(link, { audience: AGENT })), "InvalidClaims")
        const claims = yield* tokens.redeemPairing(link, { audience: AGENT })
        assert.deepInclude(claims, { kind: "pairing", person: "ada", tenant: "ada" })
        assert.strictEqual(yield* refusal(tokens.redeemPairing(link, { audience: AGENT })), "Reused")
        assert.strictEqual(yield* refusal(tokens.redeemPairing(link, { audience: "clawfleet-agent:bob" })), "WrongAudience")
        const access = yield* tokens.issue({ audience: AGENT, subject: "ada" })
        assert.strictEqual(yield* refusal(tokens.redeemPairing(Redacted.value(access.token), { audience: AGENT })), "InvalidClaims")
      })
    )
  )

  it.effect("a pairing link redeemed twice at once is used once", () =>
    seeded(
      Effect.gen(function* () {
        const tokens = yield* Tokens
        const link = Redacted.value((yield* tokens.issuePairing({ person: "ada", tenant: "ada", audience: AGENT })).token)
        const outcomes = yield* Effect.all(
          Array.from({ length: 8 }, () => refusal(tokens.redeemPairing(link, { audience: AGENT }))),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(outcomes.filter((o) => o === "accepted").length, 1)
        assert.isTrue(outcomes.every((o) => o === "accepted" || o === "Reused"))
      })
    )
  )

  it.effect("expired pairing link, and pairing for someone unknown", () =>
    seeded(
      Effect.gen(function* () {
        const tokens = yield* Tokens
        const link = Redacted.value((yield* tokens.issuePairing({ person: "ada", tenant: "ada", audience: AGENT, ttlSeconds: 600 })).token)
        yield* TestClock.adjust("11 minutes")
        assert.strictEqual(yield* refusal(tokens.redeemPairing(link, { audience: AGENT })), "Expired")
        assert.strictEqual(yield* refusal(tokens.issuePairing({ person: "nobody", tenant: "ada", audience: AGENT })), "StoreError")
      })
    )
  )
})

describe("API tokens", () => {
  it.effect("verify while live, and refuse once revoked, expired, or their person is disabled", () =>
    seeded(
      Effect.gen(function* () {
        const api = yield* ApiTokens
        const a = yield* api.create({ person: "ada", scopes: ["tenants:read"], expiresInDays: 30, label: "ci" })
        const b = yield* api.create({ person: "ada", scopes: ["grants:write"], expiresInDays: 1 })
        const c = yield* api.create({ person: "bob", scopes: ["tenants:read"], expiresInDays: 30 })
        assert.match(Redacted.value(a.token), /^cft_/)
        assert.notInclude(JSON.stringify(a.record), Redacted.value(a.token))
        assert.deepStrictEqual(yield* api.verify(Redacted.value(a.token)), { id: a.record.id, person: "ada", scopes: ["tenants:read"] })
        assert.strictEqual((yield* api.list("ada")).length, 2)
        yield* api.revoke(a.record.id)
        assert.strictEqual(yield* refusal(api.verify(Redacted.value(a.token))), "Malformed")
        yield* TestClock.adjust("25 hours")
        assert.strictEqual(yield* refusal(api.verify(Redacted.value(b.token))), "Expired")
        yield* (yield* Fleet).offboardPerson("bob")
        assert.strictEqual(yield* refusal(api.verify(Redacted.value(c.token))), "Disabled")
        assert.strictEqual(yield* refusal(api.verify("cft_guess")), "Malformed")
      })
    )
  )

  it.effect("refuse bad scopes, lifetimes and unknown people", () =>
    seeded(
      Effect.gen(function* () {
        const api = yield* ApiTokens
        assert.strictEqual(yield* refusal(api.create({ person: "ada", scopes: ["root"], expiresInDays: 1 })), "ValidationError")
        assert.strictEqual(yield* refusal(api.create({ person: "ada", scopes: [], expiresInDays: 366 })), "ValidationError")
        assert.strictEqual(yield* refusal(api.create({ person: "nobody", scopes: [], expiresInDays: 1 })), "StoreError")
      })
    )
  )
})
