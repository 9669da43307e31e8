import { AuditEvent, TenantName } from "@clawfleet/core"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { Limit, Page, pageQuery } from "./Paging.ts"
import { commonProblems } from "./Problems.ts"
import { Scopes } from "./Roles.ts"
import { access, everyone, orgAdmins } from "./Security.ts"

/** A metering period: a calendar month in UTC, `2025-06`. */
export const Period = Schema.String.check(Schema.isPattern(/^\d{4}-(?:0[1-9]|1[0-2])$/, { message: "must be a month such as 2025-06" }))

const Count = Schema.Number

export const PeriodUsage = Schema.Struct({
  tenant: Schema.String,
  period: Schema.String,
  requests: Count,
  spentTokens: Count,
  reservedTokens: Count,
  /** Millionths of a USD. */
  spentMicros: Count,
  reservedMicros: Count
})

export const LedgerEntry = Schema.Struct({
  requestId: Schema.String,
  tenant: Schema.String,
  period: Schema.String,
  model: Schema.String,
  state: Schema.Literals(["reserved", "settled", "released"]),
  reservedTokens: Count,
  reservedMicros: Count,
  inputTokens: Count,
  outputTokens: Count,
  micros: Count,
  /** Epoch milliseconds. */
  reservedAt: Count,
  closedAt: Schema.optionalKey(Count),
  /** Why it was released (`upstream-error`, `client-disconnect`, `expired`, ...). */
  note: Schema.optionalKey(Schema.String)
})

const name = { name: TenantName }

/** `/tenants/{name}/usage` and `/ledger`: what an assistant spent; its owner, their team administrator and org administrators. */
export class UsageApi extends HttpApiGroup.make("usage")
  .add(
    HttpApiEndpoint.get("get", "/tenants/:name/usage", {
      params: name,
      query: { period: Schema.optionalKey(Period) },
      success: PeriodUsage,
      error: commonProblems
    }).pipe(access(everyone, Scopes.usageRead)),
    HttpApiEndpoint.get("ledger", "/tenants/:name/ledger", {
      params: name,
      query: { ...pageQuery, period: Schema.optionalKey(Period) },
      success: Page(LedgerEntry),
      error: commonProblems
    }).pipe(access(everyone, Scopes.usageRead))
  )
  .annotateMerge(
    OpenApi.annotations({ description: "Metered usage of an assistant: the month's standing and its ledger, by request id." })
  ) {}

/** A sequence number of the audit log. */
const Seq = Schema.NumberFromString.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0, { message: "must be 0 or more" }))

export const AuditVerification = Schema.Union([
  Schema.Struct({ ok: Schema.Literal(true), events: Schema.Number, headHash: Schema.String }),
  Schema.Struct({ ok: Schema.Literal(false), events: Schema.Number, brokenAt: Schema.Number, reason: Schema.String })
])

/** `/audit`: the hash-chained audit log, in order, and proof that it was not rewritten. Org administrators only. */
export class AuditApi extends HttpApiGroup.make("audit")
  .add(
    HttpApiEndpoint.get("list", "/audit", {
      query: { after: Schema.optionalKey(Seq), limit: Schema.optionalKey(Limit) },
      success: Page(AuditEvent),
      error: commonProblems
    }).pipe(access(orgAdmins, Scopes.auditRead)),
    HttpApiEndpoint.get("verify", "/audit/verify", { success: AuditVerification, error: commonProblems }).pipe(
      access(orgAdmins, Scopes.auditRead)
    )
  )
  .annotateMerge(
    OpenApi.annotations({ description: "The audit log; `next` is the last event's sequence number, passed back as `?after=`." })
  ) {}
