import { createHash, randomBytes } from "node:crypto"

/** The record id of a bearer secret: only its SHA-256 is ever stored. 256 random bits make a slow hash pointless. */
export const hashSecret = (secret: string): string => createHash("sha256").update(secret).digest("hex")

/**
 * Bearer secrets of one kind (`cfk_` virtual keys, `cft_` API tokens, `cfs_` sessions): 256 random
 * bits behind a prefix that says what they are, kept as their hash, with a few leading characters
 * as a hint to tell them apart in a list without revealing them.
 */
export const bearerSecrets = (prefix: string) => {
  // The prefix and 32 bytes in base64url (43 characters, no padding).
  const shape = new RegExp(`^${prefix}[A-Za-z0-9_-]{43}$`)
  return {
    issue: () => {
      const secret = prefix + randomBytes(32).toString("base64url")
      return { secret, id: hashSecret(secret), hint: secret.slice(0, prefix.length + 4) }
    },
    /** The record id of a well-formed secret; undefined for anything else, which costs no store read. */
    idOf: (secret: string): string | undefined => (shape.test(secret) ? hashSecret(secret) : undefined)
  }
}
