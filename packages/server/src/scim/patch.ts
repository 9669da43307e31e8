import { type AttributePath, isObject, type Json, keyOf, matches, parsePath, read } from "./paths.ts"
import { ScimError } from "./ScimError.ts"

export const PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

export interface PatchOperation {
  readonly op: "add" | "remove" | "replace"
  readonly path?: string
  readonly value?: unknown
}

/**
 * Reads a PatchOp body. Entra ID capitalises the verbs (`"Replace"`), Okta does not; neither is
 * refused for leaving out `schemas`, so neither is here.
 */
export const parsePatchBody = (body: unknown): ReadonlyArray<PatchOperation> | ScimError => {
  const ops = read(body, "Operations")
  if (!Array.isArray(ops) || ops.length === 0) return ScimError.invalidSyntax("a PatchOp body needs a non-empty Operations array")
  const out: Array<PatchOperation> = []
  for (const [i, raw] of ops.entries()) {
    const op = read(raw, "op")
    const verb = typeof op === "string" ? op.toLowerCase() : undefined
    if (verb !== "add" && verb !== "remove" && verb !== "replace") {
      return ScimError.invalidSyntax(`Operations[${i}].op must be add, remove or replace`)
    }
    const path = read(raw, "path")
    if (path !== undefined && typeof path !== "string") return ScimError.invalidPath(`Operations[${i}].path must be a string`)
    const hasPath = typeof path === "string" && path.trim() !== ""
    if (verb === "remove" && !hasPath) return ScimError.noTarget(`Operations[${i}]: remove needs a path`)
    const value = read(raw, "value")
    if (!hasPath && !isObject(value)) return ScimError.invalidValue(`Operations[${i}]: without a path, value must be an object`)
    out.push({ op: verb, ...(hasPath ? { path } : {}), ...(value === undefined ? {} : { value }) })
  }
  return out
}

const clone = (v: Json): Json => structuredClone(v)

/** Complex values merge sub-attribute by sub-attribute (RFC 7644 §3.5.2.3); anything else is replaced. */
const put = (container: Json, attribute: string, value: unknown, op: "add" | "replace") => {
  const key = keyOf(container, attribute) ?? attribute
  const existing = container[key]
  if (op === "add" && Array.isArray(existing)) container[key] = [...existing, ...(Array.isArray(value) ? value : [value])]
  else if (isObject(existing) && isObject(value)) container[key] = { ...existing, ...value }
  else container[key] = value
}

const applyAt = (resource: Json, path: AttributePath, op: PatchOperation, label: string): ScimError | undefined => {
  let container = resource
  if (path.schema !== undefined) {
    const key = keyOf(resource, path.schema) ?? path.schema
    if (!isObject(resource[key])) {
      if (op.op === "remove") return undefined
      resource[key] = {}
    }
    container = resource[key] as Json
  }
  const key = keyOf(container, path.attribute) ?? path.attribute
  const current = container[key]

  if (path.filter === undefined && path.sub === undefined) {
    if (op.op !== "remove") put(container, key, op.value, op.op)
    else if (Array.isArray(current) && Array.isArray(op.value)) {
      // Entra ID removes members by listing them in `value` rather than filtering the path.
      const gone = op.value.map((v) => read(v, "value"))
      container[key] = current.filter((el) => !gone.some((g) => g !== undefined && matches(read(el, "value"), g as string)))
    } else delete container[key]
    return undefined
  }

  if (path.filter === undefined) {
    const sub = path.sub!
    if (Array.isArray(current)) return ScimError.invalidPath(`${label}: ${path.attribute} holds several values; filter them with [...]`)
    if (op.op === "remove") {
      if (isObject(current)) delete current[keyOf(current, sub) ?? sub]
      return undefined
    }
    const target = isObject(current) ? current : (container[key] = {} as Json)
    put(target as Json, sub, op.value, op.op)
    return undefined
  }

  const filter = path.filter
  const list = Array.isArray(current) ? current : []
  const hit = (el: unknown) => matches(read(el, filter.attribute), filter.value)
  if (op.op === "remove") {
    if (path.sub === undefined) container[key] = list.filter((el) => !hit(el))
    else for (const el of list.filter(hit)) if (isObject(el)) delete el[keyOf(el, path.sub) ?? path.sub]
    return undefined
  }
  const found = list.filter((el): el is Json => isObject(el) && hit(el))
  if (found.length === 0) {
    // Entra ID sets `emails[type eq "work"].value` on users who have no work address yet: RFC 7644
    // would answer noTarget, but creating the value is what every client means by it.
    const fresh: Json = { [filter.attribute]: filter.value }
    if (path.sub === undefined) {
      if (!isObject(op.value)) return ScimError.invalidValue(`${label}: value must be an object`)
      Object.assign(fresh, op.value)
    } else fresh[path.sub] = op.value
    container[key] = [...list, fresh]
    return undefined
  }
  for (const el of found) {
    if (path.sub !== undefined) put(el, path.sub, op.value, op.op)
    else if (isObject(op.value)) Object.assign(el, op.value)
    else return ScimError.invalidValue(`${label}: value must be an object`)
  }
  return undefined
}

/**
 * Applies the operations to a copy of the resource in its SCIM form. The caller reads the result
 * back as if it had been PUT, so PATCH and PUT share one mapping and one set of checks.
 */
export const applyPatch = (
  resource: Json,
  ops: ReadonlyArray<PatchOperation>,
  schemas: { readonly core: ReadonlyArray<string>; readonly extensions: ReadonlyArray<string> }
): Json | ScimError => {
  const is = (list: ReadonlyArray<string>, name: string) => list.some((s) => s.toLowerCase() === name.toLowerCase())
  const out = clone(resource)
  for (const [i, op] of ops.entries()) {
    const label = `Operations[${i}]`
    // Without a path, each member of `value` is an attribute, a dotted or URN path, or an
    // extension's whole object (Okta: `{"active": false}`; Entra ID: `{"urn:…:User:department": …}`).
    const steps: Array<[string, unknown]> = []
    if (op.path !== undefined) steps.push([op.path, op.value])
    else {
      for (const [name, value] of Object.entries(op.value as Json)) {
        if (is(schemas.extensions, name) && isObject(value)) for (const [sub, v] of Object.entries(value)) steps.push([`${name}:${sub}`, v])
        else if (is(schemas.core, name) && isObject(value)) steps.push(...Object.entries(value))
        else steps.push([name, value])
      }
    }
    for (const [pathText, value] of steps) {
      const path = parsePath(pathText, schemas.core)
      if (path instanceof ScimError) return path
      const failed = applyAt(out, path, { ...op, value }, label)
      if (failed !== undefined) return failed
    }
  }
  return out
}
