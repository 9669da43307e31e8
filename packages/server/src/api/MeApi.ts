import { Person, Tenant } from "@clawfleet/core"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { commonProblems } from "./Problems.ts"
import { RoleName } from "./Roles.ts"
import { access, everyone } from "./Security.ts"

export const Me = Schema.Struct({
  person: Person,
  role: RoleName,
  /** The teams a team administrator administers; empty for everyone else. */
  administers: Schema.Array(Schema.String),
  /** The API token's scopes; absent for a signed-in session. */
  scopes: Schema.optionalKey(Schema.Array(Schema.String)),
  /** The caller's own tenants (empty for an API token without `tenants:read`). */
  tenants: Schema.Array(Tenant)
})

/** `/me`: who the caller is and what they have; the one operation open to every API token. */
export class MeApi extends HttpApiGroup.make("me")
  .add(HttpApiEndpoint.get("get", "/me", { success: Me, error: commonProblems }).pipe(access(everyone)))
  .annotateMerge(OpenApi.annotations({ description: "The caller: person, role and assistants." })) {}
