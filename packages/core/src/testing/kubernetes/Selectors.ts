import { isRecord, type KubeObject } from "./Json.ts"
import type { ResourceType } from "./Resources.ts"
import { badRequest } from "./Status.ts"

/** One requirement of a label selector, in the operators of `k8s.io/apimachinery/pkg/labels`. */
export type Requirement =
  | { readonly op: "exists" | "!"; readonly key: string }
  | { readonly op: "=" | "!="; readonly key: string; readonly value: string }
  | { readonly op: "in" | "notin"; readonly key: string; readonly values: ReadonlyArray<string> }
  | { readonly op: "gt" | "lt"; readonly key: string; readonly value: number }

export type LabelSelector = ReadonlyArray<Requirement>

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/** Why `key` is not a valid label key (optional DNS-subdomain prefix, "/", and a name of at most 63 characters), or undefined. */
export const labelKeyError = (key: string): string | undefined => {
  const slash = key.indexOf("/")
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined
  const name = slash >= 0 ? key.slice(slash + 1) : key
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !SUBDOMAIN.test(prefix))) {
    return "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
  }
  if (name.length === 0) return "name part must be non-empty"
  if (name.length > 63) return "name part must be no more than 63 characters"
  if (!NAME.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
  }
  return undefined
}

/** Why `value` is not a valid label value (empty, or a name of at most 63 characters), or undefined. */
export const labelValueError = (value: string): string | undefined => {
  if (value.length > 63) return "must be no more than 63 characters"
  if (value !== "" && !NAME.test(value)) {
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
  }
  return undefined
}

const invalidSelector = (term: string, why: string) => badRequest(`unable to parse requirement: ${JSON.stringify(term)}: ${why}`)

// Commas inside `in (...)` belong to the set, so split only at depth zero.
const splitTerms = (s: string): Array<string> => {
  const terms: Array<string> = []
  let depth = 0
  let start = 0
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (c === "(") depth++
    else if (c === ")") depth--
    else if (c === "," && depth === 0) {
      terms.push(s.slice(start, i))
      start = i + 1
    }
  }
  terms.push(s.slice(start))
  return terms.map((t) => t.trim())
}

const KEY = String.raw`([^\s!=<>(),]+)`
const EQUALITY = new RegExp(String.raw`^${KEY}\s*(==|=|!=)\s*([^\s!=<>(),]*)$`)
const SET = new RegExp(String.raw`^${KEY}\s+(in|notin)\s*\(([^()]*)\)$`)
const NUMERIC = new RegExp(String.raw`^${KEY}\s*([<>])\s*(-?\d+)$`)
const EXISTS = new RegExp(`^${KEY}$`)

const checkKey = (term: string, key: string) => {
  const why = labelKeyError(key)
  if (why !== undefined) throw invalidSelector(term, why)
  return key
}

const checkValue = (term: string, value: string) => {
  const why = labelValueError(value)
  if (why !== undefined) throw invalidSelector(term, why)
  return value
}

/** Parses the `labelSelector` query parameter; throws a 400 BadRequest like the real server on bad syntax. */
export const parseLabelSelector = (s: string | undefined): LabelSelector => {
  if (s === undefined || s.trim() === "") return []
  return splitTerms(s).map((term): Requirement => {
    if (term === "") throw invalidSelector(term, "found '', expected: identifier")
    if (term.startsWith("!")) return { op: "!", key: checkKey(term, term.slice(1).trim()) }
    let m = EQUALITY.exec(term)
    if (m) return { op: m[2] === "!=" ? "!=" : "=", key: checkKey(term, m[1]!), value: checkValue(term, m[3]!) }
    m = SET.exec(term)
    if (m) {
      if (m[3]!.trim() === "") throw invalidSelector(term, "for 'in', 'notin' operators, values set can't be empty")
      const values = m[3]!.split(",").map((v) => checkValue(term, v.trim()))
      return { op: m[2] === "in" ? "in" : "notin", key: checkKey(term, m[1]!), values }
    }
    m = NUMERIC.exec(term)
    if (m) return { op: m[2] === ">" ? "gt" : "lt", key: checkKey(term, m[1]!), value: Number(m[3]) }
    m = EXISTS.exec(term)
    if (m) return { op: "exists", key: checkKey(term, m[1]!) }
    throw invalidSelector(term, "expected one of: =, ==, !=, in, notin, <, >, or a bare key")
  })
}

const matchesOne = (r: Requirement, labels: Readonly<Record<string, string>>): boolean => {
  const has = Object.hasOwn(labels, r.key)
  const value = labels[r.key]
  switch (r.op) {
    case "exists":
      return has
    case "!":
      return !has
    case "=":
      return has && value === r.value
    case "!=":
      return !has || value !== r.value
    case "in":
      return has && r.values.includes(value!)
    case "notin":
      return !has || !r.values.includes(value!)
    case "gt":
    case "lt": {
      if (!has || !/^-?\d+$/.test(value!)) return false
      const n = Number(value)
      return r.op === "gt" ? n > r.value : n < r.value
    }
  }
}

export const matchesLabels = (selector: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean =>
  selector.every((r) => matchesOne(r, labels ?? {}))

export const labelsOf = (obj: KubeObject): Record<string, string> => {
  const labels = obj.metadata?.labels
  return isRecord(labels) ? (labels as Record<string, string>) : {}
}

export interface FieldRequirement {
  readonly path: string
  readonly op: "=" | "!="
  readonly value: string
}

// Field selectors the real server supports beyond metadata.name and metadata.namespace, per kind.
const EXTRA_FIELDS: Readonly<Record<string, ReadonlyArray<string>>> = {
  Pod: ["spec.nodeName", "spec.serviceAccountName", "status.phase", "status.podIP"],
  Secret: ["type"],
  Event: ["involvedObject.kind", "involvedObject.name", "involvedObject.namespace", "involvedObject.uid", "reason", "type"],
  Namespace: ["status.phase"]
}

/** Parses the `fieldSelector` query parameter; unsupported fields are a 400 BadRequest, as in the real server. */
export const parseFieldSelector = (s: string | undefined, rt: ResourceType): ReadonlyArray<FieldRequirement> => {
  if (s === undefined || s.trim() === "") return []
  const allowed = ["metadata.name", "metadata.namespace", ...(EXTRA_FIELDS[rt.kind] ?? [])]
  return s.split(",").map((term) => {
    const m = /^\s*([A-Za-z0-9.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term)
    if (!m) throw badRequest(`invalid selector: '${s}'; can't understand '${term}'`)
    if (!allowed.includes(m[1]!)) throw badRequest(`field label not supported: ${m[1]}`)
    return { path: m[1]!, op: m[2] === "!=" ? "!=" : "=", value: m[3]! }
  })
}

const fieldValue = (obj: KubeObject, path: string): string => {
  let cur: unknown = obj
  for (const part of path.split(".")) cur = isRecord(cur) ? cur[part] : undefined
  return cur === undefined || cur === null ? "" : String(cur)
}

export const matchesFields = (selector: ReadonlyArray<FieldRequirement>, obj: KubeObject): boolean =>
  selector.every((r) => (fieldValue(obj, r.path) === r.value) === (r.op === "="))
