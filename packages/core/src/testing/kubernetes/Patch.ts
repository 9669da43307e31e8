import { keyOf, listKind, type Path } from "./FieldPath.ts"
import { deepEqual, isRecord } from "./Json.ts"
import { badRequest, KubeError } from "./Status.ts"

/**
 * The three non-apply patch types. Strategic merge patch is simplified: it is a merge patch in
 * which the lists that server-side apply merges by key (containers, env, ports, volumes, ...)
 * merge item by item, `metadata.finalizers` merges as a set, and the `$patch: delete|replace`
 * and `$deleteFromPrimitiveList` directives are honoured; other directives are dropped.
 */

export type PatchType = "json" | "merge" | "strategic"

export const patchTypeOf = (contentType: string): PatchType | "apply" | undefined => {
  switch (contentType) {
    case "application/json-patch+json":
      return "json"
    case "application/merge-patch+json":
      return "merge"
    case "application/strategic-merge-patch+json":
      return "strategic"
    case "application/apply-patch+yaml":
    case "application/apply-patch+json":
      return "apply"
    default:
      return undefined
  }
}

/** RFC 7386. */
export const mergePatch = (target: unknown, patch: unknown): unknown => {
  if (!isRecord(patch)) return structuredClone(patch)
  const out: Record<string, unknown> = isRecord(target) ? { ...target } : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(Object.hasOwn(out, k) ? out[k] : undefined, v)
  }
  return out
}

const stripDirectives = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(stripDirectives)
  if (!isRecord(value)) return value
  return Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (k.startsWith("$") ? [] : [[k, stripDirectives(v)]])))
}

const DELETE = Symbol("delete")

const strategic = (target: unknown, patch: unknown, path: Path): unknown => {
  if (isRecord(patch)) {
    if (patch.$patch === "delete") return DELETE
    if (patch.$patch === "replace") return stripDirectives(patch)
    const out: Record<string, unknown> = isRecord(target) ? { ...target } : {}
    for (const [k, v] of Object.entries(patch)) {
      if (k.startsWith("$deleteFromPrimitiveList/")) {
        const field = k.slice("$deleteFromPrimitiveList/".length)
        const list = out[field]
        if (Array.isArray(list) && Array.isArray(v)) out[field] = list.filter((x) => !v.some((d) => deepEqual(d, x)))
      } else if (k.startsWith("$")) {
        // $setElementOrder and $retainKeys only order or prune what the merge already decides.
      } else if (v === null) delete out[k]
      else {
        const merged = strategic(Object.hasOwn(out, k) ? out[k] : undefined, v, [...path, `f:${k}`])
        if (merged === DELETE) delete out[k]
        else out[k] = merged
      }
    }
    return out
  }
  if (Array.isArray(patch) && Array.isArray(target)) {
    const kind = listKind(path)
    if (kind.type === "set") return [...target, ...patch.filter((p) => !target.some((t) => deepEqual(t, p)))]
    if (kind.type === "map") {
      const out: Array<unknown> = [...target]
      for (const item of patch) {
        const key = keyOf(item, kind.keys)
        const at = key === undefined ? -1 : out.findIndex((t) => deepEqual(keyOf(t, kind.keys), key))
        const merged = strategic(at < 0 ? undefined : out[at], item, [...path, "k:"])
        if (merged === DELETE) {
          if (at >= 0) out.splice(at, 1)
        } else if (at < 0) out.push(merged)
        else out[at] = merged
      }
      return out
    }
  }
  return stripDirectives(patch)
}

export const strategicMergePatch = (target: unknown, patch: unknown): unknown => {
  const out = strategic(target, patch, [])
  return out === DELETE ? {} : out
}

const patchFailed = (message: string) => new KubeError(422, "Invalid", message)

const parsePointer = (pointer: unknown): Array<string> => {
  if (typeof pointer !== "string" || (pointer !== "" && !pointer.startsWith("/")))
    throw badRequest(`invalid JSON pointer ${JSON.stringify(pointer)}`)
  return pointer === ""
    ? []
    : pointer
        .slice(1)
        .split("/")
        .map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"))
}

const resolve = (doc: unknown, tokens: ReadonlyArray<string>): unknown => {
  let cur = doc
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = /^\d+$/.test(t) ? cur[Number(t)] : undefined
    else if (isRecord(cur) && Object.hasOwn(cur, t)) cur = cur[t]
    else return undefined
  }
  return cur
}

const missing = (op: string, pointer: string) => patchFailed(`jsonpatch ${op} operation does not apply: doc is missing path: "${pointer}"`)

// Mutates `doc` below the root; returns the new root for operations on "".
const addAt = (doc: unknown, tokens: ReadonlyArray<string>, value: unknown, pointer: string, replace: boolean): unknown => {
  if (tokens.length === 0) return value
  const parent = resolve(doc, tokens.slice(0, -1))
  const last = tokens[tokens.length - 1]!
  if (Array.isArray(parent)) {
    if (last === "-" && !replace) parent.push(value)
    else if (/^\d+$/.test(last) && Number(last) <= parent.length - (replace ? 1 : 0)) parent.splice(Number(last), replace ? 1 : 0, value)
    else throw missing(replace ? "replace" : "add", pointer)
  } else if (isRecord(parent)) {
    if (replace && !Object.hasOwn(parent, last)) throw missing("replace", pointer)
    parent[last] = value
  } else throw missing(replace ? "replace" : "add", pointer)
  return doc
}

const removeAtPointer = (doc: unknown, tokens: ReadonlyArray<string>, pointer: string): unknown => {
  const parent = resolve(doc, tokens.slice(0, -1))
  const last = tokens[tokens.length - 1]
  if (last === undefined) throw missing("remove", pointer)
  if (Array.isArray(parent) && /^\d+$/.test(last) && Number(last) < parent.length) return parent.splice(Number(last), 1)[0]
  if (isRecord(parent) && Object.hasOwn(parent, last)) {
    const value = parent[last]
    delete parent[last]
    return value
  }
  throw missing("remove", pointer)
}

/** RFC 6902: add, remove, replace, move, copy, test. */
export const jsonPatch = (target: unknown, operations: unknown): unknown => {
  if (!Array.isArray(operations)) throw badRequest("json patch must be an array of operations")
  let doc = structuredClone(target)
  for (const op of operations) {
    if (!isRecord(op) || typeof op.op !== "string") throw badRequest(`invalid json patch operation ${JSON.stringify(op)}`)
    const pointer = String(op.path)
    const tokens = parsePointer(op.path)
    switch (op.op) {
      case "add":
        doc = addAt(doc, tokens, structuredClone(op.value), pointer, false)
        break
      case "replace":
        doc = addAt(doc, tokens, structuredClone(op.value), pointer, true)
        break
      case "remove":
        removeAtPointer(doc, tokens, pointer)
        break
      case "move": {
        const value = removeAtPointer(doc, parsePointer(op.from), String(op.from))
        doc = addAt(doc, tokens, value, pointer, false)
        break
      }
      case "copy": {
        const value = resolve(doc, parsePointer(op.from))
        if (value === undefined) throw missing("copy", String(op.from))
        doc = addAt(doc, tokens, structuredClone(value), pointer, false)
        break
      }
      case "test":
        if (!deepEqual(resolve(doc, tokens), op.value)) throw patchFailed(`testing value ${pointer} failed: test failed`)
        break
      default:
        throw badRequest(`Unexpected kind: ${op.op}`)
    }
  }
  return doc
}
