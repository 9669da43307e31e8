/**
 * A small JSON Schema (draft-07) checker for the per-version snapshots of OpenClaw's config schema.
 * It knows only the keywords those snapshots use, and says so when it meets another one: a
 * snapshot that silently skipped a keyword would pass configs OpenClaw refuses. A full validator
 * (ajv) would be a dependency of every portal that imports the core for a few dozen nodes.
 */

export type JsonType = "object" | "array" | "string" | "number" | "integer" | "boolean" | "null"

export interface JsonSchemaObject {
  readonly type?: JsonType | ReadonlyArray<JsonType>
  readonly const?: unknown
  readonly enum?: ReadonlyArray<unknown>
  readonly anyOf?: ReadonlyArray<JsonSchema>
  readonly oneOf?: ReadonlyArray<JsonSchema>
  readonly properties?: { readonly [key: string]: JsonSchema }
  readonly additionalProperties?: JsonSchema
  readonly required?: ReadonlyArray<string>
  readonly propertyNames?: JsonSchema
  readonly items?: JsonSchema
  readonly minItems?: number
  readonly maxItems?: number
  readonly minLength?: number
  readonly maxLength?: number
  readonly pattern?: string
  readonly format?: "uri"
  readonly minimum?: number
  readonly maximum?: number
  readonly exclusiveMinimum?: number
  /** Annotations: kept from the upstream schema for readers, ignored when checking. */
  readonly default?: unknown
}

export type JsonSchema = boolean | JsonSchemaObject

/** One reason a value does not fit, at a dotted path shaped like OpenClaw's own (`mcp.servers.x.url`). */
export interface JsonIssue {
  readonly path: string
  readonly message: string
}

const checked = new Set([
  "type",
  "const",
  "enum",
  "anyOf",
  "oneOf",
  "properties",
  "additionalProperties",
  "required",
  "propertyNames",
  "items",
  "minItems",
  "maxItems",
  "minLength",
  "maxLength",
  "pattern",
  "format",
  "minimum",
  "maximum",
  "exclusiveMinimum"
])
const annotations = new Set(["default", "title", "description", "$schema"])

/** Keywords of `schema` (at any depth) this checker would not enforce; a snapshot must have none. */
export const unsupportedKeywords = (schema: JsonSchema, path = "#"): ReadonlyArray<string> => {
  if (typeof schema === "boolean") return []
  const found: Array<string> = []
  for (const [keyword, value] of Object.entries(schema)) {
    if (!checked.has(keyword) && !annotations.has(keyword)) found.push(`${path}/${keyword}`)
    if (keyword === "format" && value !== "uri") found.push(`${path}/format=${String(value)}`)
  }
  const sub = (s: JsonSchema | undefined, p: string) => (s === undefined ? [] : unsupportedKeywords(s, p))
  for (const [i, s] of (schema.anyOf ?? []).entries()) found.push(...sub(s, `${path}/anyOf/${i}`))
  for (const [i, s] of (schema.oneOf ?? []).entries()) found.push(...sub(s, `${path}/oneOf/${i}`))
  for (const [k, s] of Object.entries(schema.properties ?? {})) found.push(...sub(s, `${path}/properties/${k}`))
  found.push(...sub(schema.additionalProperties, `${path}/additionalProperties`))
  found.push(...sub(schema.propertyNames, `${path}/propertyNames`))
  found.push(...sub(schema.items, `${path}/items`))
  return found
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

const hasType = (value: unknown, type: JsonType): boolean => {
  switch (type) {
    case "object":
      return isPlainObject(value)
    case "array":
      return Array.isArray(value)
    case "string":
      return typeof value === "string"
    case "number":
      return typeof value === "number" && Number.isFinite(value)
    case "integer":
      return Number.isInteger(value)
    case "boolean":
      return typeof value === "boolean"
    case "null":
      return value === null
  }
}

const patterns = new Map<string, RegExp>()
const regex = (source: string) => {
  let r = patterns.get(source)
  if (r === undefined) patterns.set(source, (r = new RegExp(source, "u")))
  return r
}

const isUri = (s: string) => {
  try {
    new URL(s)
    return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(s)
  } catch {
    return false
  }
}

const join = (path: string, key: string | number) => (path === "" ? String(key) : `${path}.${key}`)

/** Every issue of `value` against `schema`; empty when it fits. */
export const validateJson = (schema: JsonSchema, value: unknown, path = ""): ReadonlyArray<JsonIssue> => {
  if (schema === true) return []
  if (schema === false) return [{ path, message: "no value is allowed here" }]
  const issues: Array<JsonIssue> = []
  const at = (message: string) => issues.push({ path, message })

  if (schema.type !== undefined) {
    const types: ReadonlyArray<JsonType> = typeof schema.type === "string" ? [schema.type] : schema.type
    if (!types.some((t) => hasType(value, t))) return [{ path, message: `expected ${types.join(" or ")}` }]
  }
  if ("const" in schema && JSON.stringify(value) !== JSON.stringify(schema.const)) at(`must be ${JSON.stringify(schema.const)}`)
  if (schema.enum !== undefined && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    at(`must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`)
  }

  if (typeof value === "string") {
    if (schema.minLength !== undefined && value.length < schema.minLength) at(`must be at least ${schema.minLength} characters`)
    if (schema.maxLength !== undefined && value.length > schema.maxLength) at(`must be at most ${schema.maxLength} characters`)
    if (schema.pattern !== undefined && !regex(schema.pattern).test(value)) at(`must match ${schema.pattern}`)
    if (schema.format === "uri" && !isUri(value)) at("must be an absolute URI")
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) at(`must be >= ${schema.minimum}`)
    if (schema.maximum !== undefined && value > schema.maximum) at(`must be <= ${schema.maximum}`)
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) at(`must be > ${schema.exclusiveMinimum}`)
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) at(`must have at least ${schema.minItems} items`)
    if (schema.maxItems !== undefined && value.length > schema.maxItems) at(`must have at most ${schema.maxItems} items`)
    if (schema.items !== undefined) {
      for (const [i, item] of value.entries()) issues.push(...validateJson(schema.items, item, join(path, i)))
    }
  }
  if (isPlainObject(value)) {
    for (const key of schema.required ?? []) if (!(key in value)) at(`missing required key "${key}"`)
    for (const [key, v] of Object.entries(value)) {
      const own = schema.properties?.[key]
      if (schema.propertyNames !== undefined) issues.push(...validateJson(schema.propertyNames, key, join(path, key)))
      if (own !== undefined) issues.push(...validateJson(own, v, join(path, key)))
      // Worded like OpenClaw's own validator, so both read the same in a test failure.
      else if (schema.additionalProperties === false) at(`Unrecognized key: "${key}"`)
      else if (schema.additionalProperties !== undefined) issues.push(...validateJson(schema.additionalProperties, v, join(path, key)))
    }
  }

  for (const [keyword, branches] of [
    ["anyOf", schema.anyOf],
    ["oneOf", schema.oneOf]
  ] as const) {
    if (branches === undefined) continue
    const results = branches.map((b) => validateJson(b, value, path))
    const matching = results.filter((r) => r.length === 0).length
    if (keyword === "oneOf" && matching > 1) at(`matches ${matching} alternatives, expected exactly one`)
    if (matching === 0) {
      // The closest alternative explains the failure best (a secret ref with a wrong field, say).
      const closest = results.reduce((a, b) => (b.length < a.length ? b : a), results[0] ?? [])
      issues.push(...(closest.length > 0 ? closest : [{ path, message: `matches none of the ${keyword} alternatives` }]))
    }
  }
  return issues
}
