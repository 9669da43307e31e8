import { Tenants } from "@clawfleet/core"
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { teamsOf } from "../Access.ts"
import { ClawfleetApi } from "../Api.ts"
import { orProblem } from "../Problems.ts"
import { Scopes } from "../Roles.ts"
import { CurrentCaller } from "../Security.ts"

export const MeHandlers = HttpApiBuilder.group(
  ClawfleetApi,
  "me",
  Effect.fn(function* (handlers) {
    const tenants = yield* Tenants
    return handlers.handleAll({
      get: () =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          // `/me` is open to every token, so a token that may not read tenants sees none here either.
          const mayReadTenants = caller.scopes === undefined || caller.scopes.includes(Scopes.tenantsRead)
          const owned = mayReadTenants ? yield* tenants.byOwner(caller.person.id) : []
          return {
            person: caller.person,
            role: caller.role.name,
            administers: teamsOf(caller),
            ...(caller.scopes !== undefined ? { scopes: caller.scopes } : {}),
            tenants: owned.map((v) => v.value)
          }
        }).pipe(orProblem)
    })
  })
)
