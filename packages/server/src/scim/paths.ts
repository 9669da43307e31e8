import { ScimError } from "./ScimError.ts"

/**
 * SCIM attribute names are case-insensitive (RFC 7643 §2.1) and identity providers do not agree on
 * case (`Operations` and `operations`, `Replace` and `replace`), so every read goes through here.
 */

export type Json = Record<string, unknown>

export const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v)

/** The key of `obj` that names `name`, whatever its case. */
export const keyOf = (obj: Json, name: string): string | undefined => {
  if (name in obj) return name
  const lower = name.toLowerCase()
  return Object.keys(obj).find((k) => k.toLowerCase() === lower)
}

export const read = (obj: unknown, name: string): unknown => {
  if (!isObject(obj)) return undefined
  const key = keyOf(obj, name)
  return key === undefined ? undefined : obj[key]
}

/** A filter of the one shape clients send in practice: `attribute eq value`. */
export interface Equality {
  readonly attribute: string
  readonly value: string | boolean | null
}

const literal = (text: string): string | boolean | null | undefined => {
  const t = text.trim()
  if (/^true$/i.test(t)) return true
  if (/^false$/i.test(t)) return false
  if (/^null$/i.test(t)) return null
  if (t.startsWith('"')) {
    try {
      const v: unknown = JSON.parse(t)
      return typeof v === "string" ? v : undefined
    } catch {
      return undefined
    }
  }
  return undefined
}

const equality = /^\s*([A-Za-z][\w$.:-]*)\s+eq\s+("(?:[^"\\]|\\.)*"|true|false|null)\s*$/i

/** Parses `userName eq "ada@example.com"`; anything richer is refused as `invalidFilter`. */
export const parseFilter = (filter: string): Equality | ScimError => {
  const m = equality.exec(filter)
  const value = m === null ? undefined : literal(m[2]!)
  if (m === null || value === undefined) {
    return ScimError.invalidFilter(`unsupported filter ${JSON.stringify(filter)}: only 'attribute eq "value"' is supported`)
  }
  return { attribute: m[1]!, value }
}

/** Does a stored value satisfy an equality? Strings compare without case, as `userName` does. */
export const matches = (actual: unknown, expected: string | boolean | null): boolean => {
  if (expected === null) return actual === undefined || actual === null
  if (typeof expected === "boolean") return actual === expected || (typeof actual === "string" && actual.toLowerCase() === String(expected))
  return typeof actual === "string" && actual.toLowerCase() === expected.toLowerCase()
}

/** A PATCH path (RFC 7644 §3.5.2): `[schema:]attribute[filter][.subAttribute]`. */
export interface AttributePath {
  /** An extension schema's URN; absent for the core schema. */
  readonly schema?: string
  readonly attribute: string
  readonly filter?: Equality
  readonly sub?: string
}

const pathPattern = /^(?:(urn:[^[\]\s]+):)?([A-Za-z$][\w$-]*)(?:\[(.+)\])?(?:\.([A-Za-z$][\w$-]*))?$/

/** Parses a path; `coreSchemas` are the URNs that mean "no extension" (`urn:…:core:2.0:User:userName`). */
export const parsePath = (path: string, coreSchemas: ReadonlyArray<string>): AttributePath | ScimError => {
  const m = pathPattern.exec(path.trim())
  if (m === null) return ScimError.invalidPath(`cannot read the path ${JSON.stringify(path)}`)
  const [, urn, attribute, filterText, sub] = m
  let filter: Equality | undefined
  if (filterText !== undefined) {
    const parsed = parseFilter(filterText)
    if (parsed instanceof ScimError) return ScimError.invalidPath(`unsupported filter in the path ${JSON.stringify(path)}`)
    filter = parsed
  }
  // A dotted name without a filter is `attribute.sub`; the pattern took the dot already.
  const extension = urn !== undefined && !coreSchemas.some((s) => s.toLowerCase() === urn.toLowerCase()) ? urn : undefined
  return {
    attribute: attribute!,
    ...(extension === undefined ? {} : { schema: extension }),
    ...(filter === undefined ? {} : { filter }),
    ...(sub === undefined ? {} : { sub })
  }
}
