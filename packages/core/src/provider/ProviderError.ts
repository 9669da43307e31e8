import { Schema } from "effect"

export const ProviderErrorReason = Schema.Literals([
  "NotFound",
  "Conflict",
  "Forbidden",
  "QuotaExceeded",
  "Unavailable",
  "Invalid",
  "Unknown"
])
export type ProviderErrorReason = typeof ProviderErrorReason.Type

/**
 * The one error of the provider boundary. `reason` says what kind of failure it was; the
 * reconciler retries what `isRetryable` says may pass (conflicts, an unavailable backend) and
 * reports the rest as a Failed condition.
 */
export class ProviderError extends Schema.TaggedError<ProviderError>()("ProviderError", {
  reason: ProviderErrorReason,
  provider: Schema.String,
  detail: Schema.String,
  /** The resource the call was about, as `kind/name`, when there is one. */
  resource: Schema.optionalKey(Schema.String),
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message() {
    return `${this.provider}: ${this.reason}${this.resource ? ` (${this.resource})` : ""}: ${this.detail}`
  }
  get isRetryable(): boolean {
    return this.reason === "Conflict" || this.reason === "Unavailable"
  }
}
