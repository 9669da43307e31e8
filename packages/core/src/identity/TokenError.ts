import { Schema } from "effect"

export const TokenErrorReason = Schema.Literals([
  /** Not a compact JWS, or its parts do not parse. */
  "Malformed",
  /** Signed with anything but EdDSA (`none`, HS256 with a public key, RS256...). */
  "UnsupportedAlgorithm",
  /** Its `kid` names no key this issuer publishes. */
  "UnknownKey",
  "BadSignature",
  "Expired",
  "NotYetValid",
  "WrongAudience",
  "WrongIssuer",
  /** Issued before its tenant's or person's revocation epoch moved on. */
  "Revoked",
  /** A single-use credential presented a second time. */
  "Reused",
  /** Its person is disabled or no longer exists. */
  "Disabled",
  /** A claim this kind of token needs is missing or has the wrong shape. */
  "InvalidClaims"
])
export type TokenErrorReason = typeof TokenErrorReason.Type

/**
 * The one error of the token boundary: why a presented token, pairing code or API token was
 * refused. Never retryable: the same token will be refused again. The message is safe to log; it
 * never repeats the token.
 */
export class TokenError extends Schema.TaggedError<TokenError>()("TokenError", {
  reason: TokenErrorReason,
  detail: Schema.String
}) {
  override get message() {
    return `token refused (${this.reason}): ${this.detail}`
  }
  get isRetryable(): boolean {
    return false
  }
  static of(reason: TokenErrorReason, detail: string) {
    return new TokenError({ reason, detail })
  }
}
