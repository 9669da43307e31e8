import { Schema } from "effect"

export const SignInErrorReason = Schema.Literals([
  /** The transaction is not one we sealed, or it was already used. */
  "InvalidTransaction",
  /** The transaction is older than the sign-in window: start again. */
  "Expired",
  /** The callback answers another sign-in than the one this browser started. */
  "StateMismatch",
  /** The provider said no (an error response, a refused code) or sent a token that does not verify. */
  "ProviderError",
  /** The provider could not be reached; trying again may help. */
  "Unavailable",
  /** Neither the ID token nor UserInfo carries an e-mail address. */
  "MissingEmail",
  /** The provider has not verified the e-mail address, and unverified ones are not accepted. */
  "UnverifiedEmail",
  /** Nobody with this e-mail address has been onboarded. */
  "NotOnboarded",
  /** More than one person has this e-mail address, so it names nobody. */
  "AmbiguousEmail",
  "Disabled"
])
export type SignInErrorReason = typeof SignInErrorReason.Type

/**
 * The one error of the sign-in boundary: why a person could not sign in. The message is safe to
 * show and to log: it never repeats a code, token or transaction.
 */
export class SignInError extends Schema.TaggedError<SignInError>()("SignInError", {
  reason: SignInErrorReason,
  detail: Schema.String,
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message() {
    return `sign-in refused (${this.reason}): ${this.detail}`
  }
  get isRetryable(): boolean {
    return this.reason === "Unavailable"
  }
  static of(reason: SignInErrorReason, detail: string, cause?: unknown) {
    return new SignInError(cause === undefined ? { reason, detail } : { reason, detail, cause })
  }
}
