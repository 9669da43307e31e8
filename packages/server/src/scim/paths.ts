import { parseFilter } from "./filter.ts"
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

/** The one filter a PATCH path holds: `members[value eq "…"]`, `emails[type eq "work"]`. */
export interface Equality {
  readonly attribute: string
  readonly value: string | boolean | null
}

const equalityOf = (text: string): Equality | undefined => {
  const filter = parseFilter(text)
  if (filter instanceof ScimError || filter.kind !== "compare" || filter.op !== "eq" || typeof filter.value === "number") return undefined
  return { attribute: filter.path, value: filter.value }
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
    filter = equalityOf(filterText)
    if (filter === undefined) return ScimError.invalidPath(`only 'attribute eq "value"' can filter the path ${JSON.stringify(path)}`)
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
