import { DnsLabel, Grant, GrantInput, Resource, ResourceKind, ResourceName, Subject } from "@clawfleet/core"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { idempotencyHeader } from "./Idempotency.ts"
import { Page, pageQuery } from "./Paging.ts"
import { commonProblems, IdempotencyKeyReused } from "./Problems.ts"
import { Scopes } from "./Roles.ts"
import { access, everyone, orgAdmins } from "./Security.ts"

/** A subject in a query: `org`, or `person:<id>`, `team:<id>`, `department:<id>`. */
export const SubjectRef = Schema.String.check(
  Schema.isPattern(/^(?:org|(?:person|team|department):[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)$/, {
    message: "must be org, or person:<id>, team:<id> or department:<id>"
  })
)

/** The resource names a person's assistants may use, per kind: what is in the catalog and allowed. */
export const EffectiveAccess = Schema.Struct({
  person: Schema.String,
  skills: Schema.Array(Schema.String),
  tools: Schema.Array(Schema.String),
  knowledge: Schema.Array(Schema.String),
  /** Allowed egress patterns, each with the hosts or narrower patterns denied beneath it. */
  egress: Schema.Array(Schema.Struct({ pattern: Schema.String, except: Schema.Array(Schema.String) })),
  models: Schema.Array(Schema.String)
})

/** Why a person may or may not use a resource: the membership chain and every grant on it. */
export const Explanation = Schema.Struct({
  allowed: Schema.Boolean,
  reason: Schema.Literals(["allowed", "denied-by-grant", "no-grant", "person-disabled", "unknown-subject"]),
  subject: Subject,
  resource: Resource,
  chain: Schema.Array(Schema.Struct({ subject: Subject, via: Schema.String })),
  grants: Schema.Array(Schema.Struct({ grant: Grant, through: Subject, status: Schema.Literals(["active", "expired"]) })),
  /** The grant that settled it: the first active deny, else the first active allow. */
  decidedBy: Schema.optionalKey(Grant)
})

const id = { id: DnsLabel }

/** Grant ids are UUIDs. */
export const GrantId = Schema.String.check(
  Schema.isPattern(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, { message: "must be a grant id (a UUID)" })
)

/** `/grants`: who may use which skills, tools, knowledge bases, egress domains and models. */
export class GrantsApi extends HttpApiGroup.make("grants")
  .add(
    HttpApiEndpoint.get("list", "/grants", {
      query: { ...pageQuery, subject: Schema.optionalKey(SubjectRef), kind: Schema.optionalKey(ResourceKind) },
      success: Page(Grant),
      error: commonProblems
    }).pipe(access(orgAdmins, Scopes.grantsRead)),
    HttpApiEndpoint.post("create", "/grants", {
      headers: idempotencyHeader,
      payload: GrantInput,
      success: Grant.pipe(HttpApiSchema.status(201)),
      error: [...commonProblems, IdempotencyKeyReused]
    }).pipe(access(orgAdmins, Scopes.grantsWrite)),
    HttpApiEndpoint.delete("delete", "/grants/:id", {
      params: { id: GrantId },
      success: HttpApiSchema.NoContent,
      error: commonProblems
    }).pipe(access(orgAdmins, Scopes.grantsWrite)),
    HttpApiEndpoint.get("explain", "/grants/explain", {
      query: { person: DnsLabel, kind: ResourceKind, name: ResourceName },
      success: Explanation,
      error: commonProblems
    }).pipe(access(everyone, Scopes.grantsRead)),
    HttpApiEndpoint.get("effective", "/people/:id/effective", { params: id, success: EffectiveAccess, error: commonProblems }).pipe(
      access(everyone, Scopes.grantsRead)
    )
  )
  .annotateMerge(
    OpenApi.annotations({
      description:
        "Grants: deny by default, an explicit deny beats any allow at any level. Members read their own effective access; " +
        "team administrators their teams' people's."
    })
  ) {}
