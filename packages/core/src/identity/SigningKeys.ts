import { randomBytes } from "node:crypto"
import { Clock, Context, DateTime, Effect, Layer, type Redacted, Schema } from "effect"
import { exportJWK, generateKeyPair, importJWK, type JWK } from "jose"

/** What jose signs and verifies with (a WebCrypto key here). */
export type SigningKeyMaterial = Awaited<ReturnType<typeof importJWK>>

import type { StoreError } from "../Errors.ts"
import { isSealed, keyEncryptionKey, seal, unseal } from "../internal/seal.ts"
import { RecordStore } from "../store/RecordStore.ts"
import { makeRepository, type Repository } from "../store/Repository.ts"
import { makeRevisionCache } from "../store/revisionCache.ts"

/**
 * An Ed25519 key pair the control plane signs tokens with. The private half is kept in the store
 * (sealed with AES-256-GCM when a key-encryption key is configured) so every replica signs with
 * the same key; the public half is published in the JWKS.
 */
export class SigningKey extends Schema.Class<SigningKey>("@clawfleet/core/SigningKey")({
  id: Schema.String.check(Schema.isPattern(/^k-[A-Za-z0-9_-]{16}$/)),
  createdAt: Schema.DateTimeUtcFromString,
  /** When a newer key took over signing; it stays published for the overlap after this. */
  retiredAt: Schema.optionalKey(Schema.DateTimeUtcFromString),
  publicJwk: Schema.Record(Schema.String, Schema.Unknown),
  /** The private JWK as JSON, or `sealed:<iv>.<tag>.<ciphertext>` (base64url) under the key-encryption key. */
  privateJwk: Schema.String
}) {}

export interface SigningKeysOptions {
  /**
   * 32 bytes, base64 or base64url: seals private keys at rest. Without it they are stored as
   * plain JWKs, and whoever reads the database can sign tokens.
   */
  readonly keyEncryptionKey?: Redacted.Redacted<string> | undefined
  /** How long a retired key stays published. Default 15 minutes: longer than any token lives. */
  readonly overlapSeconds?: number | undefined
}

export interface ActiveKey {
  readonly kid: string
  readonly privateKey: SigningKeyMaterial
}

export interface KeySet {
  readonly signer: ActiveKey | undefined
  readonly verifiers: ReadonlyMap<string, SigningKeyMaterial>
  readonly jwks: { readonly keys: ReadonlyArray<JWK> }
}

// A sealed key is bound to its id; one that will not open is a misconfiguration, not a key to skip.
const SEALED = "sealed:"

const privateJwkOf = (kek: Buffer | undefined, key: SigningKey): string => {
  if (!isSealed(key.privateJwk, SEALED)) return key.privateJwk
  if (kek === undefined) throw new Error("SigningKeys: a sealed signing key needs the keyEncryptionKey it was sealed with")
  const plain = unseal(kek, key.privateJwk, key.id, SEALED)
  if (plain === undefined) throw new Error(`SigningKeys: signing key ${key.id} does not open with this keyEncryptionKey`)
  return plain
}

/** Creates, rotates and publishes the signing keys; what `Tokens` signs and verifies with. */
export class SigningKeys extends Context.Service<
  SigningKeys,
  {
    /** The key to sign with (made on first use) and every key still published, as of now. */
    readonly current: Effect.Effect<KeySet, StoreError>
    /** A new key signs from now on; the previous one stays published for the overlap. */
    readonly rotate: Effect.Effect<string, StoreError>
    readonly jwks: Effect.Effect<{ readonly keys: ReadonlyArray<JWK> }, StoreError>
  }
>()("@clawfleet/core/SigningKeys") {
  static layer(options: SigningKeysOptions = {}): Layer.Layer<SigningKeys, never, RecordStore> {
    return Layer.effect(
      SigningKeys,
      Effect.gen(function* () {
        const store = yield* RecordStore
        const kek = options.keyEncryptionKey === undefined ? undefined : keyEncryptionKey(options.keyEncryptionKey, "SigningKeys")
        const overlapMs = (options.overlapSeconds ?? 900) * 1000
        const repo: Repository<SigningKey, "signing_keys"> = yield* makeRepository("signing_keys", SigningKey, (k) => k.id)

        const create = Effect.gen(function* () {
          const { publicKey, privateKey } = yield* Effect.promise(() => generateKeyPair("EdDSA", { extractable: true }))
          const id = `k-${randomBytes(12).toString("base64url")}`
          const [pub, priv] = yield* Effect.promise(() => Promise.all([exportJWK(publicKey), exportJWK(privateKey)]))
          const record = new SigningKey({
            id,
            createdAt: DateTime.makeUnsafe(yield* Clock.currentTimeMillis),
            publicJwk: { ...pub, kid: id, alg: "EdDSA", use: "sig" },
            privateJwk:
              kek === undefined ? JSON.stringify({ ...priv, kid: id }) : seal(kek, JSON.stringify({ ...priv, kid: id }), id, SEALED)
          })
          yield* repo.create(record, { action: "signing-key.create" })
          return id
        })

        // Imported keys are cached by store revision: a rotation elsewhere is seen on the next call.
        const load = yield* makeRevisionCache(
          store,
          ["signing_keys"],
          Effect.gen(function* () {
            const rows = (yield* repo.all).map((r) => r.value)
            const imported = yield* Effect.promise(() =>
              Promise.all(
                rows.map(async (k) => ({
                  key: k,
                  publicKey: await importJWK(k.publicJwk as JWK, "EdDSA"),
                  privateKey: k.retiredAt === undefined ? await importJWK(JSON.parse(privateJwkOf(kek, k)), "EdDSA") : undefined
                }))
              )
            )
            return imported
          })
        )

        const view = Effect.gen(function* () {
          const keys = yield* load
          const now = yield* Clock.currentTimeMillis
          const live = keys.filter((k) => k.key.retiredAt === undefined || k.key.retiredAt.epochMilliseconds + overlapMs > now)
          // Of several unretired keys (replicas that raced to make the first one) the newest signs.
          const signing = live
            .filter((k) => k.privateKey !== undefined)
            .sort((a, b) => b.key.createdAt.epochMilliseconds - a.key.createdAt.epochMilliseconds)[0]
          return {
            signer: signing === undefined ? undefined : { kid: signing.key.id, privateKey: signing.privateKey! },
            verifiers: new Map(live.map((k) => [k.key.id, k.publicKey])),
            jwks: { keys: live.map((k) => k.key.publicJwk as JWK) }
          } satisfies KeySet
        })

        const current = Effect.gen(function* () {
          const set = yield* view
          if (set.signer !== undefined) return set
          yield* create
          return yield* view
        })

        return SigningKeys.of({
          current,
          rotate: Effect.gen(function* () {
            const now = DateTime.makeUnsafe(yield* Clock.currentTimeMillis)
            const id = yield* create
            for (const row of yield* repo.all) {
              if (row.value.id !== id && row.value.retiredAt === undefined) {
                yield* repo.update(new SigningKey({ ...row.value, retiredAt: now }), row.version, { action: "signing-key.retire" })
              }
            }
            return id
          }),
          jwks: Effect.map(current, (set) => set.jwks)
        })
      })
    )
  }
}
