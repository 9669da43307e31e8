import { Clock, Context, DateTime, Effect, Layer, Redacted, Schema } from "effect"
import { Catalog } from "../Catalog.ts"
import { Directory } from "../Directory.ts"
import { DnsLabel } from "../domain/Names.ts"
import { Corrupt, InvalidState, StoreError, ValidationError } from "../Errors.ts"
import { keyEncryptionKey, seal, unseal } from "../internal/seal.ts"
import { auditDraft } from "../store/auditDraft.ts"
import { type AuditDraft, RecordStore } from "../store/RecordStore.ts"
import { makeRepository, type Repository } from "../store/Repository.ts"

/** A person's own token for a per-person tool, sealed; stored under `${tool}/${person}`. */
export class PersonCredential extends Schema.Class<PersonCredential>("@clawfleet/core/PersonCredential")({
  tool: DnsLabel,
  person: DnsLabel,
  /** `v1:<iv>.<tag>.<ciphertext>` (base64url): AES-256-GCM under the key-encryption key, bound to the record id. */
  sealed: Schema.String,
  expiresAt: Schema.optionalKey(Schema.DateTimeUtcFromString),
  updatedAt: Schema.DateTimeUtcFromString
}) {}

/** What may be shown about a stored credential: everything but the token. */
export interface PersonCredentialInfo {
  readonly tool: string
  readonly person: string
  readonly expiresAt?: DateTime.Utc | undefined
  readonly updatedAt: DateTime.Utc
  readonly expired: boolean
}

export interface PersonCredentialInput {
  readonly tool: string
  readonly person: string
  readonly token: Redacted.Redacted<string>
  /** When the provider stops taking the token; `get` answers undefined from then on. */
  readonly expiresAt?: DateTime.Utc | undefined
}

export interface PersonCredentialsOptions {
  /** 32 bytes, base64 or base64url. Required: tokens act as the person, so they are never kept in the clear. */
  readonly keyEncryptionKey: Redacted.Redacted<string>
}

const ENTITY = "person credential"
// Sent as `Authorization: Bearer <token>`: anything but visible ASCII would break or split the header.
const TOKEN_SHAPE = /^[\x21-\x7e]{1,8192}$/

const idOf = (tool: string, person: string) => `${tool}/${person}`

// The record id is bound into each sealed token: one copied to another person's row fails there
// instead of acting as them.

const infoOf = (c: PersonCredential, now: number): PersonCredentialInfo => ({
  tool: c.tool,
  person: c.person,
  ...(c.expiresAt !== undefined ? { expiresAt: c.expiresAt } : {}),
  updatedAt: c.updatedAt,
  expired: c.expiresAt !== undefined && c.expiresAt.epochMilliseconds <= now
})

const invalid = (path: string, message: string) => new ValidationError({ subject: ENTITY, issues: [{ path, message }] })

/**
 * Tokens people connect for tools that act as them (their GitHub, their Linear), which the tool
 * broker sends when that person's assistant calls the tool. Sealed with AES-256-GCM under a
 * key-encryption key the database never holds. A row that does not open (another key, a row
 * moved or edited) fails with a StoreError whose reason is Corrupt, never a wrong token; the
 * person connecting the tool again replaces it. Audit events name the tool and the person only.
 */
export class PersonCredentials extends Context.Service<
  PersonCredentials,
  {
    /**
     * Stores or replaces the person's token. Fails with NotFound for an unknown tool or person,
     * InvalidState for a tool whose credential is shared, ValidationError for a malformed token
     * or an expiry already past.
     */
    readonly set: (input: PersonCredentialInput) => Effect.Effect<PersonCredentialInfo, StoreError | ValidationError | InvalidState>
    /** The token, or undefined when none is stored or it has expired. */
    readonly get: (tool: string, person: string) => Effect.Effect<Redacted.Redacted<string> | undefined, StoreError>
    /** Fails with NotFound when the person has no token for the tool. */
    readonly remove: (tool: string, person: string) => Effect.Effect<void, StoreError>
    /** The person's connected tools, expired ones included, without their tokens. */
    readonly list: (person: string) => Effect.Effect<ReadonlyArray<PersonCredentialInfo>, StoreError>
    /** Removes every token of the person (offboarding); returns how many. */
    readonly removeAllOf: (person: string) => Effect.Effect<number, StoreError>
  }
>()("@clawfleet/core/PersonCredentials") {
  /** Throws at once when the key-encryption key is not 32 bytes. */
  static layer(options: PersonCredentialsOptions): Layer.Layer<PersonCredentials, never, RecordStore | Catalog | Directory> {
    const kek = keyEncryptionKey(options.keyEncryptionKey, "PersonCredentials")
    return Layer.effect(
      PersonCredentials,
      Effect.gen(function* () {
        const store = yield* RecordStore
        const catalog = yield* Catalog
        const directory = yield* Directory
        const repo: Repository<PersonCredential, "person_credentials"> = yield* makeRepository(
          "person_credentials",
          PersonCredential,
          (c) => idOf(c.tool, c.person)
        )
        const encode = Schema.encodeSync(PersonCredential)

        // Written past the repository, whose audit events carry the whole record: the sealed token
        // would sit in the hash-chained log for good, out of reach of any later removal.
        const draft = (action: string, id: string, after?: unknown) =>
          auditDraft(action, { kind: ENTITY, id }, after === undefined ? {} : { after })

        const write = (id: string, record: PersonCredential, audit: AuditDraft) =>
          Effect.gen(function* () {
            const existing = yield* store.get("person_credentials", id)
            if (existing === undefined) yield* store.insert("person_credentials", id, encode(record), audit)
            else yield* store.update("person_credentials", id, existing.version, encode(record), audit)
          })

        const removeRow = (id: string, version: number) =>
          Effect.flatMap(draft("person-credential.remove", id), (audit) => store.remove("person_credentials", id, version, audit))

        return PersonCredentials.of({
          set: Effect.fn("PersonCredentials.set")(function* (input: PersonCredentialInput) {
            const token = Redacted.value(input.token)
            if (!TOKEN_SHAPE.test(token)) return yield* invalid("token", "must be 1 to 8192 visible ASCII characters")
            const now = yield* Clock.currentTimeMillis
            if (input.expiresAt !== undefined && input.expiresAt.epochMilliseconds <= now) {
              return yield* invalid("expiresAt", "must be in the future")
            }
            const tool = (yield* catalog.tools.get(input.tool)).value
            if (tool.credentialMode !== "per-person") {
              return yield* new InvalidState({
                entity: "tool",
                id: tool.name,
                detail: 'takes a shared credential; set its credentialMode to "per-person" to store tokens per person'
              })
            }
            const person = (yield* directory.people.get(input.person)).value
            const id = idOf(tool.name, person.id)
            const record = new PersonCredential({
              tool: tool.name,
              person: person.id,
              sealed: seal(kek, token, id),
              ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
              updatedAt: DateTime.makeUnsafe(now)
            })
            const info = infoOf(record, now)
            const audit = yield* draft("person-credential.set", id, {
              tool: info.tool,
              person: info.person,
              ...(record.expiresAt !== undefined ? { expiresAt: DateTime.formatIso(record.expiresAt) } : {})
            })
            // Two connects at once both find no row; the loser's insert fails and, retried, replaces.
            yield* store
              .transaction(write(id, record, audit))
              .pipe(Effect.retry({ times: 1, while: (e) => e.reason._tag === "AlreadyExists" || e.reason._tag === "Conflict" }))
            return info
          }),

          // Untraced: the broker asks on every call of a per-person tool.
          get: Effect.fnUntraced(function* (tool: string, person: string) {
            const id = idOf(tool, person)
            const found = yield* repo.find(id)
            if (found === undefined) return undefined
            const c = found.value
            if (c.expiresAt !== undefined && c.expiresAt.epochMilliseconds <= (yield* Clock.currentTimeMillis)) return undefined
            const token = unseal(kek, c.sealed, id)
            if (token === undefined) {
              return yield* new StoreError({
                reason: new Corrupt({
                  entity: ENTITY,
                  id,
                  detail: "the sealed token does not open under this key-encryption key (another key, or a row moved or edited)"
                })
              })
            }
            return Redacted.make(token)
          }),

          remove: Effect.fn("PersonCredentials.remove")(function* (tool: string, person: string) {
            const id = idOf(tool, person)
            const found = yield* repo.get(id)
            yield* removeRow(id, found.version)
          }),

          list: Effect.fn("PersonCredentials.list")(function* (person: string) {
            const rows = yield* repo.allWhere({ person })
            const now = yield* Clock.currentTimeMillis
            return rows.map((r) => infoOf(r.value, now))
          }),

          removeAllOf: Effect.fn("PersonCredentials.removeAllOf")(function* (person: string) {
            const rows = yield* repo.allWhere({ person })
            yield* store.transaction(
              Effect.forEach(rows, (r) => removeRow(idOf(r.value.tool, r.value.person), r.version), { discard: true })
            )
            return rows.length
          })
        })
      })
    )
  }
}
