import { createHash } from "node:crypto"

export const GENESIS_HASH = "0".repeat(64)

/** JSON with object keys sorted at every depth, so equal values always hash alike. */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null"
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  const obj = value as Record<string, unknown>
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`
}

export interface AuditBody {
  readonly seq: number
  readonly at: string
  readonly actor: string
  readonly action: string
  readonly target: { readonly kind: string; readonly id: string }
  readonly before?: unknown
  readonly after?: unknown
  readonly requestId?: string
  readonly decision?: string
}

export const hashAuditEvent = (body: AuditBody, prevHash: string): string =>
  createHash("sha256").update(prevHash).update("\n").update(canonicalJson(body)).digest("hex")
