import { ApiTokens, RecordStore } from "@clawfleet/core"
import { Effect, Redacted } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ClawfleetApi } from "../Api.ts"
import { Idempotency } from "../Idempotency.ts"
import { Forbidden, orProblem, storeUnavailable } from "../Problems.ts"
import { allScopes } from "../Roles.ts"
import { CurrentCaller } from "../Security.ts"

export const TokensHandlers = HttpApiBuilder.group(
  ClawfleetApi,
  "tokens",
  Effect.fn(function* (handlers) {
    const apiTokens = yield* ApiTokens
    const store = yield* RecordStore
    const idempotency = yield* Idempotency
    const known = new Set<string>(allScopes)

    return handlers.handleAll({
      list: ({ query }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          const person = query.person ?? caller.person.id
          if (person !== caller.person.id && caller.role.name !== "org-admin")
            return yield* new Forbidden({ detail: "you may only list your own API tokens" })
          return { items: yield* apiTokens.list(person) }
        }).pipe(orProblem),

      create: ({ payload, headers }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          // A token cannot mint a broader one; scopes other than the API's (`scim:provision`) are the org administrators'.
          const beyond = payload.scopes.filter(
            (s) => (caller.scopes !== undefined && !caller.scopes.includes(s)) || (!known.has(s) && caller.role.name !== "org-admin")
          )
          if (beyond.length > 0)
            return yield* new Forbidden({
              detail: `you may not create a token with the scopes ${beyond.join(", ")}`,
              errors: [{ path: "body.scopes", message: `beyond what you may grant: ${beyond.join(", ")}` }]
            })
          return yield* idempotency.run(
            { caller: caller.person.id, operation: "tokens.create", key: headers["idempotency-key"], body: payload },
            Effect.map(apiTokens.create({ person: caller.person.id, ...payload }), ({ token, record }) => ({
              token: Redacted.value(token),
              record
            }))
          )
        }).pipe(orProblem),

      delete: ({ params }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          if (caller.role.name !== "org-admin") {
            // Another person's token is refused the same whether or not it exists.
            const row = yield* store.get("api_tokens", params.id).pipe(Effect.catchTag("StoreError", storeUnavailable))
            const owner = (row?.data as { readonly person?: string } | undefined)?.person
            if (owner !== caller.person.id) return yield* new Forbidden({ detail: "you may only revoke your own API tokens" })
          }
          yield* apiTokens.revoke(params.id)
        }).pipe(orProblem)
    })
  })
)
