import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto"

/** How long a browser has from `begin` to `complete`. */
export const TRANSACTION_TTL_MILLIS = 10 * 60_000
// A transaction dated later than this is not one we sealed on a sane clock.
const FUTURE_SKEW_MILLIS = 60_000

/** What `complete` must know about the sign-in `begin` started. */
export interface Transaction {
  readonly state: string
  readonly nonce: string
  readonly codeVerifier: string
  readonly returnTo: string
  /** Epoch milliseconds. */
  readonly issuedAt: number
}

export type Opened = { readonly _tag: "Opened"; readonly transaction: Transaction } | { readonly _tag: "Invalid" | "Expired" }

const PREFIX = "t1."
const SHAPE = /^t1\.[A-Za-z0-9_-]{40,4096}$/
const IV_BYTES = 12
const TAG_BYTES = 16

/**
 * Seals transactions into an opaque cookie value with AES-256-GCM, so the browser can neither
 * read the PKCE verifier nor change state, nonce or returnTo. The additional data binds it to
 * one client configuration: a transaction for another client or redirect URI does not open.
 */
export const makeSealer = (secret: Uint8Array, context: string) => {
  const key = Buffer.from(hkdfSync("sha256", secret, "clawfleet/oidc-transaction", context, 32))
  const aad = Buffer.from(context, "utf8")

  const seal = (t: Transaction): string => {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv("aes-256-gcm", key, iv)
    cipher.setAAD(aad)
    const plain = JSON.stringify({ s: t.state, n: t.nonce, v: t.codeVerifier, r: t.returnTo, t: t.issuedAt })
    const sealed = Buffer.concat([iv, cipher.update(plain, "utf8"), cipher.final(), cipher.getAuthTag()])
    return PREFIX + sealed.toString("base64url")
  }

  const unseal = (value: string): Transaction | undefined => {
    if (!SHAPE.test(value)) return undefined
    const bytes = Buffer.from(value.slice(PREFIX.length), "base64url")
    if (bytes.length <= IV_BYTES + TAG_BYTES) return undefined
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, IV_BYTES))
      decipher.setAAD(aad)
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES))
      const plain = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()])
      const p = JSON.parse(plain.toString("utf8")) as Record<string, unknown>
      const { s, n, v, r, t } = p
      if (typeof s !== "string" || typeof n !== "string" || typeof v !== "string" || typeof r !== "string" || typeof t !== "number") {
        return undefined
      }
      return { state: s, nonce: n, codeVerifier: v, returnTo: r, issuedAt: t }
    } catch {
      // A failed tag check is the expected answer to a forged or damaged value.
      return undefined
    }
  }

  const open = (value: string, now: number): Opened => {
    const transaction = unseal(value)
    if (transaction === undefined || transaction.issuedAt > now + FUTURE_SKEW_MILLIS) return { _tag: "Invalid" }
    if (now - transaction.issuedAt > TRANSACTION_TTL_MILLIS) return { _tag: "Expired" }
    return { _tag: "Opened", transaction }
  }

  return { seal, open }
}

/**
 * Remembers which transactions were used, until they would have expired anyway, so each can
 * complete once. It is per process: between replicas the provider's single-use authorization
 * code is what stops a second exchange.
 */
export const makeReplayGuard = () => {
  const used = new Map<string, number>()
  return {
    /** True the first time `state` is claimed. */
    claim: (state: string, expiresAt: number, now: number): boolean => {
      for (const [s, until] of used) if (until <= now) used.delete(s)
      if (used.has(state)) return false
      used.set(state, expiresAt)
      return true
    }
  }
}

// Resolving against an origin of our own shows whether the browser would leave it.
const OWN_ORIGIN = "https://clawfleet.invalid"

/**
 * Where to send the person after sign-in: a path on our own origin, never anything a browser
 * could read as another host (`//evil`, `/\evil`, `https://evil`, `javascript:`). Anything
 * else becomes `/` rather than an error, so a bad link still ends signed in.
 */
export const safeReturnTo = (input: string | undefined): string => {
  if (input === undefined || input.length > 2048 || !input.startsWith("/")) return "/"
  try {
    // The URL parser drops tabs and newlines and reads `\` as `/`, as browsers do.
    const url = new URL(input, OWN_ORIGIN)
    const path = url.pathname + url.search + url.hash
    // Dot segments can collapse into a leading `//` (`/.//evil`): judge what we would send.
    return url.origin === OWN_ORIGIN && !path.startsWith("//") ? path : "/"
  } catch {
    return "/"
  }
}
