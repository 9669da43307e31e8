import { AuditEvent, Budget, Channels, DnsLabel, ModelName, OpenClawVersion, Quantity, Tenant, TenantName, Text } from "@clawfleet/core"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { etagHeader, ifMatchHeader } from "./ETag.ts"
import { idempotencyHeader } from "./Idempotency.ts"
import { Limit, Page, pageQuery } from "./Paging.ts"
import { commonProblems, IdempotencyKeyReused, PreconditionFailed, PreconditionRequired } from "./Problems.ts"
import { Scopes } from "./Roles.ts"
import { access, admins, everyone } from "./Security.ts"

const IdleMinutes = Schema.Int.check(Schema.isGreaterThanOrEqualTo(5, { message: "must be at least 5 minutes" }))

/** A tenant's spec as a caller writes it: everything but the owner may be left to the defaults. */
export const TenantOptions = {
  openclaw: Schema.optionalKey(Schema.Struct({ version: Schema.optionalKey(OpenClawVersion), image: Schema.optionalKey(Text(512)) })),
  resources: Schema.optionalKey(
    Schema.Struct({ cpu: Schema.optionalKey(Quantity), memory: Schema.optionalKey(Quantity), storage: Schema.optionalKey(Quantity) })
  ),
  models: Schema.optionalKey(Schema.Struct({ default: Schema.optionalKey(ModelName) })),
  budget: Schema.optionalKey(Budget),
  channels: Schema.optionalKey(Channels),
  idle: Schema.optionalKey(Schema.Struct({ suspendAfterMinutes: Schema.optionalKey(IdleMinutes) }))
}

export const TenantSpecInput = Schema.Struct({ owner: DnsLabel, ...TenantOptions })

export const CreateTenant = Schema.Struct({ name: TenantName, spec: TenantSpecInput })

// In a merge patch `null` removes an optional member; required ones can only be replaced.
const clearable = <S extends Schema.Top>(schema: S) => Schema.optionalKey(Schema.NullOr(schema))
const budget = Budget.fields

/** A JSON merge patch (RFC 7396) of the spec: not the owner, and not `suspended` (suspend and resume do). */
export const TenantPatch = Schema.Struct({
  openclaw: Schema.optionalKey(Schema.Struct({ version: Schema.optionalKey(OpenClawVersion), image: clearable(Text(512)) })),
  resources: TenantOptions.resources,
  models: Schema.optionalKey(Schema.Struct({ default: clearable(ModelName) })),
  budget: Schema.optionalKey(
    Schema.Struct({
      monthlyTokens: clearable(budget.monthlyTokens.schema),
      monthlyUsd: clearable(budget.monthlyUsd.schema),
      requestsPerMinute: clearable(budget.requestsPerMinute.schema),
      tokensPerMinute: clearable(budget.tokensPerMinute.schema)
    })
  ),
  channels: Schema.optionalKey(
    Schema.Struct({ telegram: clearable(Channels.fields.telegram.schema), slack: clearable(Channels.fields.slack.schema) })
  ),
  idle: Schema.optionalKey(Schema.Struct({ suspendAfterMinutes: clearable(IdleMinutes) }))
})

export const TenantPage = Page(Tenant)

/** A pairing link: open `url` in a browser before `expiresAt` (ISO 8601); it works once. */
export const PairingLinkResponse = Schema.Struct({ url: Schema.String, expiresAt: Schema.String })

/** What the runtime provider would change to bring the tenant to its spec, without changing it. */
export const TenantPlan = Schema.Struct({
  tenant: Schema.String,
  generation: Schema.Number,
  changes: Schema.Array(
    Schema.Struct({
      action: Schema.String,
      kind: Schema.String,
      name: Schema.String,
      /** Lines such as `spec.replicas: 1 -> 0`; empty unless the resource is updated. */
      diff: Schema.Array(Schema.String)
    })
  )
})

/** A sequence number of the audit log, as `?after=` takes it. */
const AuditSeq = Schema.NumberFromString.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0, { message: "must be 0 or more" }))

const name = { name: TenantName }
const withETag = HttpApiSchema.WithHeaders(Tenant, etagHeader)

/** `/tenants`: the assistants. Members reach their own; team administrators their teams' people's. */
export class TenantsApi extends HttpApiGroup.make("tenants")
  .add(
    HttpApiEndpoint.get("list", "/tenants", {
      query: { ...pageQuery, owner: Schema.optionalKey(DnsLabel) },
      success: TenantPage,
      error: commonProblems
    }).pipe(access(admins, Scopes.tenantsRead)),
    HttpApiEndpoint.get("get", "/tenants/:name", { params: name, success: withETag, error: commonProblems }).pipe(
      access(everyone, Scopes.tenantsRead)
    ),
    HttpApiEndpoint.post("create", "/tenants", {
      headers: idempotencyHeader,
      payload: CreateTenant,
      success: HttpApiSchema.WithHeaders(Tenant, etagHeader).pipe(HttpApiSchema.status(201)),
      error: [...commonProblems, IdempotencyKeyReused]
    }).pipe(access(admins, Scopes.tenantsWrite)),
    HttpApiEndpoint.patch("update", "/tenants/:name", {
      params: name,
      headers: ifMatchHeader,
      payload: TenantPatch,
      success: withETag,
      error: [...commonProblems, PreconditionFailed, PreconditionRequired]
    }).pipe(access(admins, Scopes.tenantsWrite)),
    HttpApiEndpoint.post("suspend", "/tenants/:name/suspend", { params: name, success: withETag, error: commonProblems }).pipe(
      access(everyone, Scopes.tenantsWrite)
    ),
    HttpApiEndpoint.post("resume", "/tenants/:name/resume", { params: name, success: withETag, error: commonProblems }).pipe(
      access(everyone, Scopes.tenantsWrite)
    ),
    HttpApiEndpoint.delete("delete", "/tenants/:name", {
      params: name,
      success: Tenant.pipe(HttpApiSchema.status(202)),
      error: commonProblems
    }).pipe(access(admins, Scopes.tenantsWrite)),
    HttpApiEndpoint.post("pairing", "/tenants/:name/pairing", {
      params: name,
      success: PairingLinkResponse,
      error: commonProblems
    })
      .annotateMerge(
        OpenApi.annotations({
          description:
            "A single-use link that pairs a browser with the assistant, resuming a suspended one first. 503 (with " +
            "`Retry-After`) while the assistant is not Ready yet: ask again."
        })
      )
      .pipe(access(everyone, Scopes.tenantsPair)),
    HttpApiEndpoint.get("events", "/tenants/:name/events", {
      params: name,
      query: { after: Schema.optionalKey(AuditSeq), limit: Schema.optionalKey(Limit) },
      success: Page(AuditEvent),
      error: commonProblems
    })
      .annotateMerge(
        OpenApi.annotations({
          description:
            "The tenant's history: audit events whose target is this tenant, in order. `next` is an audit sequence " +
            "number to pass back as `?after=`, present only when the page is full."
        })
      )
      .pipe(access(everyone, Scopes.tenantsRead)),
    HttpApiEndpoint.get("plan", "/tenants/:name/plan", { params: name, success: TenantPlan, error: commonProblems })
      .annotateMerge(
        OpenApi.annotations({
          description:
            "What the runtime provider would create, update or delete to converge the tenant on its spec and grants " +
            "now; nothing is changed. 409 when its config cannot be rendered, 503 when the provider does not answer."
        })
      )
      .pipe(access(admins, Scopes.tenantsRead))
  )
  .annotateMerge(OpenApi.annotations({ description: "Assistants: one OpenClaw gateway each, owned by one person." })) {}
