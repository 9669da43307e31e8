import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import { Redacted } from "effect"

/** How a sealed value starts unless its owner keeps a format of its own. */
export const SEALED_PREFIX = "v1:"

/** A key-encryption key from its configuration: 32 bytes, base64 or base64url. */
export const keyEncryptionKey = (value: Redacted.Redacted<string>, owner: string): Buffer => {
  const bytes = Buffer.from(Redacted.value(value), "base64")
  if (bytes.length !== 32) throw new Error(`${owner}: keyEncryptionKey must be 32 bytes, base64-encoded`)
  return bytes
}

export const isSealed = (stored: string, prefix = SEALED_PREFIX): boolean => stored.startsWith(prefix)

/**
 * AES-256-GCM under a key-encryption key, as `<prefix><iv>.<tag>.<ciphertext>` (base64url).
 * `boundTo` is the additional authenticated data: a value copied to another record (another id)
 * does not open.
 */
export const seal = (kek: Buffer, plain: string, boundTo = "", prefix = SEALED_PREFIX): string => {
  const iv = randomBytes(12)
  const cipher = createCipheriv("aes-256-gcm", kek, iv).setAAD(Buffer.from(boundTo, "utf8"))
  const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()])
  return `${prefix}${iv.toString("base64url")}.${cipher.getAuthTag().toString("base64url")}.${data.toString("base64url")}`
}

/** The plain text, or undefined when the value is not sealed, was altered, or was sealed under another key or record. */
export const unseal = (kek: Buffer, sealed: string, boundTo = "", prefix = SEALED_PREFIX): string | undefined => {
  const [iv, tag, data] = isSealed(sealed, prefix) ? sealed.slice(prefix.length).split(".") : []
  if (iv === undefined || tag === undefined || data === undefined) return undefined
  try {
    const decipher = createDecipheriv("aes-256-gcm", kek, Buffer.from(iv, "base64url"))
    decipher.setAAD(Buffer.from(boundTo, "utf8")).setAuthTag(Buffer.from(tag, "base64url"))
    return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString("utf8")
  } catch {
    return undefined
  }
}
