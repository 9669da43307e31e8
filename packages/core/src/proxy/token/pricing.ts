import type { Model } from "../../domain/Catalog.ts"
import type { MeteringLimits } from "../Metering.ts"
import type { TenantIdentity } from "../TenantGate.ts"

// Prices are USD per million tokens, which is exactly micro-dollars per token. The epsilon keeps
// 2.5 * 3 = 7.500000000000001 from costing 8.
export const costMicros = (model: Model, inputTokens: number, outputTokens: number): number =>
  Math.max(0, Math.ceil(inputTokens * (model.inputUsdPerMTok ?? 0) + outputTokens * (model.outputUsdPerMTok ?? 0) - 1e-9))

export interface DefaultLimits {
  readonly requestsPerMinute?: number | undefined
  readonly tokensPerMinute?: number | undefined
}

/** The tenant's own limits, falling back to the proxy's defaults for the per-minute ones. */
export const limitsOf = (identity: TenantIdentity, defaults: DefaultLimits): MeteringLimits => {
  const budget = identity.budget ?? {}
  return {
    monthlyTokens: budget.monthlyTokens,
    monthlyMicros: budget.monthlyUsd === undefined ? undefined : Math.floor(budget.monthlyUsd * 1_000_000 + 1e-6),
    requestsPerMinute: budget.requestsPerMinute ?? defaults.requestsPerMinute,
    tokensPerMinute: budget.tokensPerMinute ?? defaults.tokensPerMinute
  }
}

/** A warning once 90 % of a monthly budget is spent or held, for the assistant to pass on. */
export const budgetWarning = (
  limits: MeteringLimits,
  standing: { spentTokens: number; reservedTokens: number; spentMicros: number; reservedMicros: number }
): string | undefined => {
  const share = (used: number, limit: number | undefined) => (limit === undefined || limit === 0 ? 0 : used / limit)
  const tokens = share(standing.spentTokens + standing.reservedTokens, limits.monthlyTokens)
  const money = share(standing.spentMicros + standing.reservedMicros, limits.monthlyMicros)
  const worst = Math.max(tokens, money)
  if (worst < 0.9) return undefined
  return `${Math.min(100, Math.floor(worst * 100))}% of the monthly ${tokens >= money ? "token" : "USD"} budget is used`
}
