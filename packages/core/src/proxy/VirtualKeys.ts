import { Clock, Context, DateTime, Effect, Layer, Redacted, Schema } from "effect"
import { TenantName, Text } from "../domain/Names.ts"
import type { StoreError } from "../Errors.ts"
import { bearerSecrets, hashSecret } from "../internal/bearerSecret.ts"
import { makeRepository, type Repository } from "../store/Repository.ts"
import { Tenants } from "../Tenants.ts"

/**
 * A tenant's credential towards clawfleet's proxies and brokers, standing in for every real
 * provider key. Only its SHA-256 is stored, as the record id, so a lookup is one primary-key read
 * and a leaked database holds no usable key. 256 random bits make a slow hash pointless.
 */
export class VirtualKey extends Schema.Class<VirtualKey>("@clawfleet/core/VirtualKey")({
  /** Hex SHA-256 of the key. */
  id: Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/)),
  tenant: TenantName,
  createdAt: Schema.DateTimeUtcFromString,
  /** The key's first characters, to tell keys apart in a list without revealing them. */
  hint: Schema.String,
  label: Schema.optionalKey(Text(200))
}) {}

export interface IssuedKey {
  /** The key itself: shown once, never stored. */
  readonly key: Redacted.Redacted<string>
  readonly record: VirtualKey
}

const keys = bearerSecrets("cfk_")

export const hashKey = hashSecret

/** Issues, resolves and revokes virtual keys. Revocation deletes the record: the next lookup misses. */
export class VirtualKeys extends Context.Service<
  VirtualKeys,
  {
    /** Fails with NotFound when the tenant does not exist. */
    readonly issue: (tenant: string, options?: { readonly label?: string }) => Effect.Effect<IssuedKey, StoreError>
    /** The key's record, or undefined for a malformed, unknown or revoked key. */
    readonly resolve: (key: string) => Effect.Effect<VirtualKey | undefined, StoreError>
    readonly list: (tenant: string) => Effect.Effect<ReadonlyArray<VirtualKey>, StoreError>
    /** Fails with NotFound when no such key exists. */
    readonly revoke: (id: string) => Effect.Effect<void, StoreError>
    /** Revokes every key of a tenant (offboarding, suspected leak); returns how many. */
    readonly revokeTenant: (tenant: string) => Effect.Effect<number, StoreError>
  }
>()("@clawfleet/core/VirtualKeys") {
  static readonly layer = Layer.effect(
    VirtualKeys,
    Effect.gen(function* () {
      const tenants = yield* Tenants
      const repo: Repository<VirtualKey, "virtual_keys"> = yield* makeRepository("virtual_keys", VirtualKey, (k) => k.id)
      return VirtualKeys.of({
        issue: Effect.fn("VirtualKeys.issue")(function* (tenant, options) {
          yield* tenants.get(tenant)
          const { secret: key, id, hint } = keys.issue()
          const record = new VirtualKey({
            id,
            tenant: tenant as TenantName,
            createdAt: DateTime.makeUnsafe(yield* Clock.currentTimeMillis),
            hint,
            ...(options?.label !== undefined ? { label: options.label as typeof VirtualKey.Type.label & string } : {})
          })
          yield* repo.create(record, { action: "virtual-key.issue" })
          return { key: Redacted.make(key), record }
        }),
        // Untraced: it runs on every proxied request.
        resolve: (key) => {
          const id = keys.idOf(key)
          return id === undefined ? Effect.undefined : Effect.map(repo.find(id), (found) => found?.value)
        },
        list: (tenant) => Effect.map(repo.allWhere({ tenant }), (rows) => rows.map((r) => r.value)),
        revoke: Effect.fn("VirtualKeys.revoke")(function* (id) {
          const found = yield* repo.get(id)
          yield* repo.remove(id, found.version)
        }),
        revokeTenant: Effect.fn("VirtualKeys.revokeTenant")(function* (tenant) {
          const rows = yield* repo.allWhere({ tenant })
          for (const row of rows) yield* repo.remove(row.value.id, row.version)
          return rows.length
        })
      })
    })
  )
}
