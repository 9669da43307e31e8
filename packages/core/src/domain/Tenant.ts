import { Effect, Schema } from "effect"
import { ModelName } from "./Catalog.ts"
import { DnsLabel, OpenClawVersion, Quantity, SecretRef, TenantName, Text } from "./Names.ts"

export const TenantPhase = Schema.Literals(["Pending", "Provisioning", "Ready", "Suspended", "Failed", "Deleting"])
export type TenantPhase = typeof TenantPhase.Type

export const ConditionType = Schema.Literals(["StorageReady", "IdentityReady", "NetworkReady", "WorkloadReady", "Ready"])
export type ConditionType = typeof ConditionType.Type

/**
 * Shaped like a Kubernetes condition, so tooling and people read it the same way. Plain data
 * rather than a class: every reconcile pass builds five of them.
 */
export const Condition = Schema.Struct({
  type: ConditionType,
  status: Schema.Literals(["True", "False", "Unknown"]),
  reason: Schema.String.check(Schema.isPattern(/^[A-Za-z][A-Za-z0-9]*$/, { message: "must be a CamelCase reason" })),
  message: Text(32_768),
  lastTransitionTime: Schema.DateTimeUtcFromString,
  observedGeneration: Schema.Int
})
export type Condition = typeof Condition.Type

export const Resources = Schema.Struct({
  cpu: Quantity,
  memory: Quantity,
  storage: Quantity
})

export const Budget = Schema.Struct({
  monthlyTokens: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  monthlyUsd: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))),
  /** Token-proxy rate limits, shared by every proxy replica; the proxy's defaults apply when absent. */
  requestsPerMinute: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  tokensPerMinute: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
})
export type Budget = typeof Budget.Type

export const Channels = Schema.Struct({
  telegram: Schema.optionalKey(Schema.Struct({ botToken: SecretRef, allowFrom: Schema.optionalKey(Schema.Array(Text(256))) })),
  slack: Schema.optionalKey(Schema.Struct({ botToken: SecretRef, appToken: SecretRef }))
})

export class TenantSpec extends Schema.Class<TenantSpec>("@clawfleet/core/TenantSpec")({
  /** The person this assistant belongs to. */
  owner: DnsLabel,
  openclaw: Schema.Struct({ version: OpenClawVersion, image: Schema.optionalKey(Text(512)) }),
  resources: Resources,
  models: Schema.Struct({ default: Schema.optionalKey(ModelName) }).pipe(
    Schema.withDecodingDefaultKey(Effect.succeed({})),
    Schema.withConstructorDefault(Effect.succeed({}))
  ),
  budget: Budget.pipe(Schema.withDecodingDefaultKey(Effect.succeed({})), Schema.withConstructorDefault(Effect.succeed({}))),
  channels: Channels.pipe(Schema.withDecodingDefaultKey(Effect.succeed({})), Schema.withConstructorDefault(Effect.succeed({}))),
  suspended: Schema.Boolean.pipe(
    Schema.withDecodingDefaultKey(Effect.succeed(false)),
    Schema.withConstructorDefault(Effect.succeed(false))
  ),
  idle: Schema.Struct({
    suspendAfterMinutes: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(5)))
  }).pipe(Schema.withDecodingDefaultKey(Effect.succeed({})), Schema.withConstructorDefault(Effect.succeed({})))
}) {}

export class TenantStatus extends Schema.Class<TenantStatus>("@clawfleet/core/TenantStatus")({
  phase: TenantPhase,
  conditions: Schema.Array(Condition),
  /** The spec generation the provider last converged; behind `generation` means work is pending. */
  observedGeneration: Schema.Int,
  endpoint: Schema.optionalKey(Text(2048)),
  lastActivity: Schema.optionalKey(Schema.DateTimeUtcFromString)
}) {
  static readonly initial = new TenantStatus({ phase: "Pending", conditions: [], observedGeneration: 0 })
}

export class Tenant extends Schema.Class<Tenant>("@clawfleet/core/Tenant")({
  name: TenantName,
  spec: TenantSpec,
  status: TenantStatus,
  /** Increments on every spec change, never on status writes. */
  generation: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  /** Set when deletion was asked for; the reconciler finalizes and then removes the record. */
  deletionRequestedAt: Schema.optionalKey(Schema.DateTimeUtcFromString)
}) {}
