import { Clock, Context, DateTime, Effect, Layer, Redacted, Schema } from "effect"
import { Directory } from "../Directory.ts"
import { Text } from "../domain/Names.ts"
import { type StoreError, ValidationError } from "../Errors.ts"
import { bearerSecrets } from "../internal/bearerSecret.ts"
import { makeRepository, type Repository } from "../store/Repository.ts"
import { TokenError } from "./TokenError.ts"

/** A scope a script or the CLI may be given: `resource:verb` such as `tenants:read` or `grants:write`. */
export const Scope = Schema.String.check(
  Schema.isPattern(/^[a-z][a-z-]{0,31}:[a-z][a-z-]{0,31}$/, { message: "must be a scope such as tenants:read" })
)

/** A long-lived credential for scripts and the CLI: scoped, expiring, stored only as a hash. */
export class ApiToken extends Schema.Class<ApiToken>("@clawfleet/core/ApiToken")({
  /** Hex SHA-256 of the token. */
  id: Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/)),
  person: Schema.String,
  scopes: Schema.Array(Scope),
  createdAt: Schema.DateTimeUtcFromString,
  expiresAt: Schema.DateTimeUtcFromString,
  hint: Schema.String,
  label: Schema.optionalKey(Text(200))
}) {}

export interface VerifiedApiToken {
  readonly id: string
  readonly person: string
  readonly scopes: ReadonlyArray<string>
}

const tokens = bearerSecrets("cft_")
const MAX_DAYS = 365

export class ApiTokens extends Context.Service<
  ApiTokens,
  {
    /** Fails with NotFound for an unknown person, a ValidationError for bad scopes or lifetime. */
    readonly create: (request: {
      readonly person: string
      readonly scopes: ReadonlyArray<string>
      /** 1–365. */
      readonly expiresInDays: number
      readonly label?: string | undefined
    }) => Effect.Effect<{ readonly token: Redacted.Redacted<string>; readonly record: ApiToken }, StoreError | ValidationError>
    /** The person and scopes, unless the token is unknown, revoked, expired or its person disabled. */
    readonly verify: (token: string) => Effect.Effect<VerifiedApiToken, TokenError | StoreError>
    readonly list: (person: string) => Effect.Effect<ReadonlyArray<ApiToken>, StoreError>
    /** Fails with NotFound when no such token exists. */
    readonly revoke: (id: string) => Effect.Effect<void, StoreError>
  }
>()("@clawfleet/core/ApiTokens") {
  static readonly layer = Layer.effect(
    ApiTokens,
    Effect.gen(function* () {
      const directory = yield* Directory
      const repo: Repository<ApiToken, "api_tokens"> = yield* makeRepository("api_tokens", ApiToken, (t) => t.id)
      const decodeScopes = Schema.decodeUnknownEffect(Schema.Array(Scope))
      return ApiTokens.of({
        create: Effect.fn("ApiTokens.create")(function* (request) {
          const days = request.expiresInDays
          if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
            return yield* new ValidationError({
              subject: "API token",
              issues: [{ path: "expiresInDays", message: `must be a whole number of days from 1 to ${MAX_DAYS}` }]
            })
          }
          const scopes = yield* decodeScopes(request.scopes).pipe(
            Effect.mapError(
              () =>
                new ValidationError({
                  subject: "API token",
                  issues: [{ path: "scopes", message: "each must be a scope such as tenants:read" }]
                })
            )
          )
          yield* directory.people.get(request.person)
          const { secret: token, id, hint } = tokens.issue()
          const now = yield* Clock.currentTimeMillis
          const record = new ApiToken({
            id,
            person: request.person,
            scopes,
            createdAt: DateTime.makeUnsafe(now),
            expiresAt: DateTime.makeUnsafe(now + days * 86_400_000),
            hint,
            ...(request.label !== undefined ? { label: request.label as typeof ApiToken.Type.label & string } : {})
          })
          yield* repo.create(record, { action: "api-token.create" })
          return { token: Redacted.make(token), record }
        }),
        verify: Effect.fnUntraced(function* (token: string) {
          const id = tokens.idOf(token)
          const found = id === undefined ? undefined : yield* repo.find(id)
          if (found === undefined) return yield* TokenError.of("Malformed", "unknown or revoked API token")
          const t = found.value
          if (t.expiresAt.epochMilliseconds <= (yield* Clock.currentTimeMillis))
            return yield* TokenError.of("Expired", "the API token has expired")
          const person = yield* directory.people.find(t.person)
          if (person === undefined || person.value.disabled) return yield* TokenError.of("Disabled", "the person is disabled or gone")
          return { id: t.id, person: t.person, scopes: t.scopes }
        }),
        list: (person) => Effect.map(repo.allWhere({ person }), (rows) => rows.map((r) => r.value)),
        revoke: Effect.fn("ApiTokens.revoke")(function* (id) {
          const found = yield* repo.get(id)
          yield* repo.remove(id, found.version)
        })
      })
    })
  )
}
