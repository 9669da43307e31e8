import { Context, Effect, Layer, Redacted, Schema } from "effect"
import { type SecretRef, TenantName } from "../domain/Names.ts"
import type { StoreError } from "../Errors.ts"
import { keyEncryptionKey, seal, unseal } from "../internal/seal.ts"
import { VirtualKeys } from "../proxy/VirtualKeys.ts"
import { auditDraft } from "../store/auditDraft.ts"
import { type AuditDraft, RecordStore } from "../store/RecordStore.ts"
import { makeRepository, type Repository, type Versioned } from "../store/Repository.ts"
import { SecretError, Secrets } from "./Secrets.ts"

/** A tenant's platform virtual key, sealed; stored under the tenant's name. */
export class TenantCredential extends Schema.Class<TenantCredential>("@clawfleet/core/TenantCredential")({
  tenant: TenantName,
  /** The virtual key's id (its SHA-256): the sealed key is used only while it still resolves to this. */
  keyId: Schema.String,
  /** `v1:<iv>.<tag>.<ciphertext>` (base64url): AES-256-GCM under the key-encryption key, bound to the tenant name. */
  sealed: Schema.String,
  /** When the key was issued. */
  createdAt: Schema.DateTimeUtcFromString
}) {}

export interface TenantCredentialsOptions {
  /** 32 bytes, base64 or base64url. Required: the key acts as the tenant, so it is never kept in the clear. */
  readonly keyEncryptionKey: Redacted.Redacted<string>
}

const TABLE = "tenant_credentials"
const ENTITY = "tenant credential"
const LABEL = "platform"

/** The secret every tenant's platform references are named by, as the runtime compiler spells it. */
const SECRET_PREFIX = "clawfleet-tenant-"
/** The keys of that secret the platform key answers; `gateway-token` is the provider's own. */
const SECRET_KEYS: ReadonlySet<string> = new Set(["model-key", "tool-token", "agent-key"])

type Reason = "missing" | "revoked" | "unsealable"

/** What is stored for a tenant, and the key in it when that key still works. */
interface Inspected {
  readonly found: Versioned<TenantCredential> | undefined
  readonly key?: Redacted.Redacted<string> | undefined
  readonly reason?: Reason | undefined
}

const isRace = (e: StoreError) => e.reason._tag === "AlreadyExists" || e.reason._tag === "Conflict"

/**
 * The key each tenant's runtime presents to the token proxy, the tool broker and (to redeem
 * pairings) the tenant agent: one virtual key labelled `platform`, issued on first use, sealed with
 * AES-256-GCM under a key-encryption key the database never holds. Nothing is cached: every
 * `keyOf` checks the key still resolves, so a revoked key (`VirtualKeys.revokeTenant`) is
 * replaced on the next call.
 *
 * A row that does not open (another key-encryption key, a row moved or edited) is replaced, not
 * failed as `PersonCredentials` fails it: clawfleet minted the key and can mint another, so such a
 * row is worth no more than a missing one, and tampering with it achieves nothing that deleting it
 * would not. The replacement is not silent: it is audited with its reason and logged as a warning,
 * so replicas started with different keys show up at once. The old key is revoked.
 *
 * The `platform` label is this service's: whenever it stores a key it revokes every other
 * `platform` key of the tenant, so a tenant holds one at most.
 *
 * Audit events name the tenant only; the key and its sealed form never enter the chain.
 *
 * @example
 * // Platform references resolve to the tenant's key; every other one reads the environment.
 * const secrets = TenantCredentials.layerSecrets.pipe(
 *   Layer.provide(Secrets.layerEnv()),
 *   Layer.provide(TenantCredentials.layer({ keyEncryptionKey }))
 * )
 */
export class TenantCredentials extends Context.Service<
  TenantCredentials,
  {
    /** The tenant's platform key, issued when it has none that works. Fails with NotFound for an unknown tenant. */
    readonly keyOf: (tenant: string) => Effect.Effect<Redacted.Redacted<string>, StoreError>
    /** Revokes the current key and issues a new one. Fails with NotFound for an unknown tenant. */
    readonly rotate: (tenant: string) => Effect.Effect<Redacted.Redacted<string>, StoreError>
    /** Removes the stored key and revokes it (tenant destroy); does nothing when none is stored. */
    readonly forget: (tenant: string) => Effect.Effect<void, StoreError>
  }
>()("@clawfleet/core/TenantCredentials") {
  /** Throws at once when the key-encryption key is not 32 bytes. */
  static layer(options: TenantCredentialsOptions): Layer.Layer<TenantCredentials, never, RecordStore | VirtualKeys> {
    const kek = keyEncryptionKey(options.keyEncryptionKey, "TenantCredentials")
    return Layer.effect(
      TenantCredentials,
      Effect.gen(function* () {
        const store = yield* RecordStore
        const virtualKeys = yield* VirtualKeys
        const repo: Repository<TenantCredential, typeof TABLE> = yield* makeRepository(TABLE, TenantCredential, (c) => c.tenant)
        const encode = Schema.encodeSync(TenantCredential)

        // Written past the repository, whose audit events carry the whole record: the sealed key
        // would sit in the hash-chained log for good.
        const draft = (action: string, tenant: string, after?: unknown) =>
          auditDraft(action, { kind: ENTITY, id: tenant }, after === undefined ? {} : { after })

        const inspect = (tenant: string) =>
          Effect.gen(function* () {
            const found = yield* repo.find(tenant)
            if (found === undefined) return { found, reason: "missing" } satisfies Inspected
            const key = unseal(kek, found.value.sealed, tenant)
            if (key === undefined) return { found, reason: "unsealable" } satisfies Inspected
            const resolved = yield* virtualKeys.resolve(key)
            return resolved?.tenant === tenant && resolved.id === found.value.keyId
              ? ({ found, key: Redacted.make(key) } satisfies Inspected)
              : ({ found, reason: "revoked" } satisfies Inspected)
          })

        // Every platform key but `keep`: the stored one, and any a crash or an edited row left
        // behind. Run inside the transaction that writes the row, so no other writer of this
        // service can be between issuing a key and storing it.
        const revokePlatformKeys = (tenant: string, keep?: string) =>
          Effect.gen(function* () {
            const stale = (yield* virtualKeys.list(tenant)).filter((k) => k.label === LABEL && k.id !== keep)
            yield* Effect.forEach(stale, (k) => virtualKeys.revoke(k.id), { discard: true })
          })

        // Call inside a transaction: the new key, the row and the old key's revocation land together,
        // so a caller that loses a race leaves no orphan key behind (its issue is rolled back).
        const replace = (tenant: string, found: Versioned<TenantCredential> | undefined, audit: AuditDraft) =>
          Effect.gen(function* () {
            const issued = yield* virtualKeys.issue(tenant, { label: LABEL })
            const record = new TenantCredential({
              tenant: issued.record.tenant,
              keyId: issued.record.id,
              sealed: seal(kek, Redacted.value(issued.key), tenant),
              createdAt: issued.record.createdAt
            })
            if (found === undefined) yield* store.insert(TABLE, tenant, encode(record), audit)
            else yield* store.update(TABLE, tenant, found.version, encode(record), audit)
            yield* revokePlatformKeys(tenant, record.keyId)
            return issued.key
          })

        const issueIfNeeded = (tenant: string) =>
          store.transaction(
            Effect.gen(function* () {
              // Concurrent first calls queue for the write lock: all but the first find its key here.
              const current: Inspected = yield* inspect(tenant)
              if (current.key !== undefined) return current.key
              if (current.reason === "unsealable") {
                yield* Effect.logWarning(`tenant credential of ${tenant} does not open under this key-encryption key; issuing a new key`)
              }
              return yield* replace(tenant, current.found, yield* draft("tenant-credential.issue", tenant, { reason: current.reason }))
            })
          )

        return TenantCredentials.of({
          keyOf: Effect.fn("TenantCredentials.keyOf")(function* (tenant: string) {
            const current: Inspected = yield* inspect(tenant)
            if (current.key !== undefined) return current.key
            return yield* issueIfNeeded(tenant).pipe(Effect.retry({ times: 2, while: isRace }))
          }),

          rotate: Effect.fn("TenantCredentials.rotate")(function* (tenant: string) {
            return yield* store
              .transaction(
                Effect.gen(function* () {
                  const found = yield* repo.find(tenant)
                  return yield* replace(tenant, found, yield* draft("tenant-credential.rotate", tenant))
                })
              )
              .pipe(Effect.retry({ times: 2, while: isRace }))
          }),

          forget: Effect.fn("TenantCredentials.forget")(function* (tenant: string) {
            yield* store.transaction(
              Effect.gen(function* () {
                const found = yield* repo.find(tenant)
                if (found === undefined) return
                yield* store.remove(TABLE, tenant, found.version, yield* draft("tenant-credential.forget", tenant))
                yield* revokePlatformKeys(tenant)
              })
            )
          })
        })
      })
    )
  }

  /**
   * `Secrets` that answers `clawfleet-tenant-<tenant>` / `model-key`, `tool-token` and `agent-key`
   * with the tenant's platform key, and passes every other reference to the `Secrets` it is given
   * (provide one below it, as in the class example). An unknown tenant is NotFound; a store
   * failure is Unavailable, retryable when the store's error is.
   */
  static readonly layerSecrets: Layer.Layer<Secrets, never, TenantCredentials | Secrets> = Layer.effect(
    Secrets,
    Effect.gen(function* () {
      const credentials = yield* TenantCredentials
      const fallback = yield* Secrets
      const tenantOf = (ref: SecretRef) =>
        ref.name.startsWith(SECRET_PREFIX) && SECRET_KEYS.has(ref.key) ? ref.name.slice(SECRET_PREFIX.length) : undefined
      return Secrets.of({
        resolve: (ref) => {
          const tenant = tenantOf(ref)
          if (tenant === undefined) return fallback.resolve(ref)
          return Effect.mapError(credentials.keyOf(tenant), (e) =>
            e.reason._tag === "NotFound"
              ? SecretError.notFound(ref)
              : SecretError.unavailable(`the platform key of tenant "${tenant}": ${e.message}`, e.isRetryable, e)
          )
        }
      })
    })
  )
}
