import { FieldSet, type Path } from "./FieldPath.ts"
import { isRecord } from "./Json.ts"

/** The `fieldsV1` encoding of a field set in `metadata.managedFields`: a trie keyed by path elements. */

// Order of path elements in serialized fieldsV1, as upstream sorts them: fields, then values, keys, indexes.
const rank = (el: string) => ({ ".": 0, f: 1, v: 2, k: 3, i: 4 })[el === "." ? "." : (el[0] as "f" | "v" | "k" | "i")] ?? 5

interface Node {
  self: boolean
  readonly children: Map<string, Node>
}

/** The FieldsV1 trie of a set: a path that is owned and also has owned children carries `".": {}`. */
export const encodeFieldsV1 = (set: FieldSet): Record<string, unknown> => {
  const root: Node = { self: false, children: new Map() }
  for (const path of set.paths()) {
    let node = root
    for (const el of path) {
      let next = node.children.get(el)
      if (!next) node.children.set(el, (next = { self: false, children: new Map() }))
      node = next
    }
    node.self = true
  }
  const render = (node: Node): Record<string, unknown> => {
    const out: Record<string, unknown> = {}
    if (node.self && node.children.size > 0) out["."] = {}
    const keys = [...node.children.keys()].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
    for (const k of keys) out[k] = render(node.children.get(k)!)
    return out
  }
  return render(root)
}

export const decodeFieldsV1 = (fields: unknown): FieldSet => {
  const set = new FieldSet()
  const walk = (node: unknown, path: Path) => {
    if (!isRecord(node)) return
    const keys = Object.keys(node)
    if (path.length > 0 && (keys.length === 0 || keys.includes("."))) set.add(path)
    for (const k of keys) if (k !== ".") walk(node[k], [...path, k])
  }
  walk(fields, [])
  return set
}
