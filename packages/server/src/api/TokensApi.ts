import { ApiToken, DnsLabel, Scope, Text } from "@clawfleet/core"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { idempotencyHeader } from "./Idempotency.ts"
import { commonProblems, IdempotencyKeyReused } from "./Problems.ts"
import { Scopes } from "./Roles.ts"
import { access, everyone } from "./Security.ts"

export const CreateToken = Schema.Struct({
  scopes: Schema.Array(Scope).check(Schema.isMaxLength(64)),
  expiresInDays: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 365 }, { message: "must be a whole number from 1 to 365" })),
  label: Schema.optionalKey(Text(200))
})

/** The secret is in this answer only: it is stored as a hash. */
export const CreatedToken = Schema.Struct({ token: Schema.String, record: ApiToken })

const TokenId = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/, { message: "must be a token id (64 hex digits)" }))

/** `/tokens`: a person's API tokens. Org administrators may list and revoke anyone's. */
export class TokensApi extends HttpApiGroup.make("tokens")
  .add(
    HttpApiEndpoint.get("list", "/tokens", {
      query: { person: Schema.optionalKey(DnsLabel) },
      success: Schema.Struct({ items: Schema.Array(ApiToken) }),
      error: commonProblems
    }).pipe(access(everyone, Scopes.tokensRead)),
    HttpApiEndpoint.post("create", "/tokens", {
      headers: idempotencyHeader,
      payload: CreateToken,
      success: CreatedToken.pipe(HttpApiSchema.status(201)),
      error: [...commonProblems, IdempotencyKeyReused]
    }).pipe(access(everyone, Scopes.tokensWrite)),
    HttpApiEndpoint.delete("delete", "/tokens/:id", {
      params: { id: TokenId },
      success: HttpApiSchema.NoContent,
      error: commonProblems
    }).pipe(access(everyone, Scopes.tokensWrite))
  )
  .annotateMerge(
    OpenApi.annotations({
      description: "API tokens for scripts and the CLI, created for oneself; a token may only create tokens within its own scopes."
    })
  ) {}
