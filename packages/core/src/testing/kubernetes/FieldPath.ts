import { deepEqual, isRecord } from "./Json.ts"

/**
 * Field paths in the encoding of `metadata.managedFields` (`f:name`, `k:{"name":"x"}`, `v:"x"`,
 * `i:0`), and the little of the OpenAPI schema that server-side apply needs: which lists merge by
 * key, which are sets, which maps are atomic. Without the real schemas this is decided by field
 * name, which covers the built-in kinds the fake serves; every other list is atomic.
 */

export type Path = ReadonlyArray<string>

export type ListKind =
  | { readonly type: "atomic" }
  | { readonly type: "set" }
  | { readonly type: "map"; readonly keys: ReadonlyArray<string> }

const KEYED_LISTS: Readonly<Record<string, ReadonlyArray<string>>> = {
  containers: ["name"],
  initContainers: ["name"],
  ephemeralContainers: ["name"],
  env: ["name"],
  volumes: ["name"],
  volumeMounts: ["mountPath"],
  volumeDevices: ["devicePath"],
  imagePullSecrets: ["name"],
  resourceClaims: ["name"],
  hostAliases: ["ip"],
  ownerReferences: ["uid"]
}

// Structs and maps marked `+structType=atomic` / `+mapType=atomic` upstream: owned as a whole.
const ATOMIC_MAPS = new Set([
  "selector",
  "podSelector",
  "namespaceSelector",
  "labelSelector",
  "nodeSelector",
  "secretKeyRef",
  "configMapKeyRef",
  "fieldRef",
  "resourceFieldRef"
])

// Map-typed fields (not structs): an Update that creates one also owns the map itself, shown as ".".
const MAP_FIELDS = new Set(["labels", "annotations", "data", "stringData", "binaryData", "limits", "requests", "hard", "parameters"])

// Key fields the apiserver defaults, so items that omit them still have a key.
const KEY_DEFAULTS: Readonly<Record<string, unknown>> = { protocol: "TCP" }

const CONTAINER_LISTS = new Set(["f:containers", "f:initContainers", "f:ephemeralContainers"])

export const listKind = (path: Path, field: string = fieldOf(path)): ListKind => {
  if (field === "finalizers" && path.length === 2 && path[0] === "f:metadata") return { type: "set" }
  if (field === "ports") {
    // Container ports merge by (containerPort, protocol), a Service's by (port, protocol); NetworkPolicy ports are atomic.
    const parentList = path[path.length - 3]
    if (parentList !== undefined && CONTAINER_LISTS.has(parentList)) return { type: "map", keys: ["containerPort", "protocol"] }
    if (path.length === 2 && path[0] === "f:spec") return { type: "map", keys: ["port", "protocol"] }
    return { type: "atomic" }
  }
  const keys = KEYED_LISTS[field]
  return keys === undefined ? { type: "atomic" } : { type: "map", keys }
}

export const fieldOf = (path: Path): string => {
  const last = path[path.length - 1]
  return last?.startsWith("f:") ? last.slice(2) : ""
}

export const keyOf = (item: unknown, keys: ReadonlyArray<string>): Record<string, unknown> | undefined => {
  if (!isRecord(item)) return undefined
  const key: Record<string, unknown> = {}
  for (const k of keys) {
    const v = Object.hasOwn(item, k) ? item[k] : KEY_DEFAULTS[k]
    if (v === undefined || v === null) return undefined
    key[k] = v
  }
  return key
}

/**
 * How the items of the list at `path` are addressed, or atomic when they cannot be: an item
 * without its key, or two items with one key, make the list atomic rather than failing.
 */
const listElements = (path: Path, items: ReadonlyArray<unknown>): { kind: ListKind; elements: ReadonlyArray<string> } => {
  const kind = listKind(path, fieldOf(path))
  if (kind.type === "atomic") return { kind, elements: [] }
  const elements = items.map((item) => {
    if (kind.type === "set") return `v:${JSON.stringify(item)}`
    const key = keyOf(item, kind.keys)
    return key === undefined ? undefined : `k:${JSON.stringify(key)}`
  })
  if (elements.some((e) => e === undefined) || new Set(elements).size !== elements.length) return { kind: { type: "atomic" }, elements: [] }
  return { kind, elements: elements as ReadonlyArray<string> }
}

const SEP = "\u0000"

/** A set of field paths, as one managedFields entry owns them. */
export class FieldSet {
  private readonly members = new Map<string, Path>()

  constructor(paths: Iterable<Path> = []) {
    for (const p of paths) this.add(p)
  }

  add(path: Path): void {
    this.members.set(path.join(SEP), path)
  }
  has(path: Path): boolean {
    return this.members.has(path.join(SEP))
  }
  delete(path: Path): void {
    this.members.delete(path.join(SEP))
  }
  get size(): number {
    return this.members.size
  }
  paths(): ReadonlyArray<Path> {
    return [...this.members.values()]
  }
  /** Whether some member lies strictly below `path`. */
  hasBelow(path: Path): boolean {
    const prefix = path.join(SEP) + SEP
    for (const k of this.members.keys()) if (k.startsWith(prefix)) return true
    return false
  }
  union(other: FieldSet): FieldSet {
    return new FieldSet([...this.paths(), ...other.paths()])
  }
  minus(other: FieldSet): FieldSet {
    return new FieldSet(this.paths().filter((p) => !other.has(p)))
  }
  equals(other: FieldSet): boolean {
    return this.size === other.size && this.paths().every((p) => other.has(p))
  }
}

/** Every field `obj` sets, as server-side apply counts the fields of an applied configuration. */
export const toFieldSet = (obj: unknown): FieldSet => {
  const set = new FieldSet()
  const walk = (value: unknown, path: Path) => {
    if (isRecord(value)) {
      if (path.length > 0 && ATOMIC_MAPS.has(fieldOf(path))) return set.add(path)
      for (const [k, v] of Object.entries(value)) if (v !== undefined) walk(v, [...path, `f:${k}`])
      return
    }
    if (Array.isArray(value)) {
      const { kind, elements } = listElements(path, value)
      if (kind.type === "atomic") return set.add(path)
      value.forEach((item, i) => {
        const itemPath = [...path, elements[i]!]
        set.add(itemPath)
        if (kind.type === "map" && isRecord(item))
          for (const [k, v] of Object.entries(item)) if (v !== undefined) walk(v, [...itemPath, `f:${k}`])
      })
      return
    }
    set.add(path)
  }
  walk(obj, [])
  return set
}

/** The fields an update sets or changes going from `before` to `after`: what its manager comes to own. */
export const changedFields = (before: unknown, after: unknown): FieldSet => {
  const set = new FieldSet()
  const diff = (o: unknown, n: unknown, path: Path) => {
    if (n === undefined || deepEqual(o, n)) return
    if (isRecord(n)) {
      if (path.length > 0 && (ATOMIC_MAPS.has(fieldOf(path)) || Object.keys(n).length === 0)) return set.add(path)
      if (!isRecord(o) && MAP_FIELDS.has(fieldOf(path))) set.add(path)
      const prev = isRecord(o) ? o : {}
      for (const [k, v] of Object.entries(n)) diff(Object.hasOwn(prev, k) ? prev[k] : undefined, v, [...path, `f:${k}`])
      return
    }
    if (Array.isArray(n)) {
      const { kind, elements } = listElements(path, n)
      if (kind.type === "atomic") return set.add(path)
      const prev = Array.isArray(o) ? o : []
      n.forEach((item, i) => {
        const itemPath = [...path, elements[i]!]
        const old = getAt(prev, [elements[i]!])
        if (old === undefined) set.add(itemPath)
        if (kind.type === "map") diff(old, item, itemPath)
      })
      return
    }
    set.add(path)
  }
  diff(before, after, [])
  return set
}

const step = (cur: unknown, el: string): unknown => {
  if (el.startsWith("f:")) {
    const k = el.slice(2)
    return isRecord(cur) && Object.hasOwn(cur, k) ? cur[k] : undefined
  }
  if (!Array.isArray(cur)) return undefined
  const index = indexIn(cur, el)
  return index < 0 ? undefined : cur[index]
}

const indexIn = (list: ReadonlyArray<unknown>, el: string): number => {
  if (el.startsWith("i:")) return Number(el.slice(2)) < list.length ? Number(el.slice(2)) : -1
  if (el.startsWith("v:")) {
    const v: unknown = JSON.parse(el.slice(2))
    return list.findIndex((item) => deepEqual(item, v))
  }
  if (el.startsWith("k:")) {
    const key: unknown = JSON.parse(el.slice(2))
    if (!isRecord(key)) return -1
    return list.findIndex((item) => deepEqual(keyOf(item, Object.keys(key)), key))
  }
  return -1
}

/** The value at `path`, or undefined when some step is absent. */
export const getAt = (obj: unknown, path: Path): unknown =>
  path.reduce<unknown>((cur, el) => (cur === undefined ? undefined : step(cur, el)), obj)

/**
 * Removes the field or list item at `path` from `obj` in place, then any map or list left empty
 * by the removal unless `keep` claims it.
 */
export const removeAt = (obj: Record<string, unknown>, path: Path, keep: (path: Path) => boolean): void => {
  if (path.length === 0) return
  const parentPath = path.slice(0, -1)
  const parent = getAt(obj, parentPath)
  const el = path[path.length - 1]!
  if (el.startsWith("f:") && isRecord(parent)) delete parent[el.slice(2)]
  else if (Array.isArray(parent)) {
    const i = indexIn(parent, el)
    if (i >= 0) parent.splice(i, 1)
  } else return
  const empty = isRecord(parent) ? Object.keys(parent).length === 0 : Array.isArray(parent) && parent.length === 0
  if (empty && parentPath.length > 0 && !keep(parentPath)) removeAt(obj, parentPath, keep)
}

/**
 * `applied` merged over `live` the way server-side apply merges: maps field by field, keyed
 * lists item by item (new items appended), sets by union, anything else replaced.
 */
export const mergeApplied = (live: unknown, applied: unknown, path: Path = []): unknown => {
  if (isRecord(applied)) {
    if (!isRecord(live) || (path.length > 0 && ATOMIC_MAPS.has(fieldOf(path)))) return structuredClone(applied)
    const out: Record<string, unknown> = { ...live }
    for (const [k, v] of Object.entries(applied)) {
      if (v !== undefined) out[k] = mergeApplied(Object.hasOwn(live, k) ? live[k] : undefined, v, [...path, `f:${k}`])
    }
    return out
  }
  if (Array.isArray(applied) && Array.isArray(live)) {
    const mine = listElements(path, applied)
    const theirs = listElements(path, live)
    if (mine.kind.type === "atomic" || theirs.kind.type === "atomic") return structuredClone(applied)
    const out = [...live]
    applied.forEach((item, i) => {
      const at = theirs.elements.indexOf(mine.elements[i]!)
      if (at < 0) out.push(structuredClone(item))
      else if (mine.kind.type === "map") out[at] = mergeApplied(live[at], item, [...path, mine.elements[i]!])
    })
    return out
  }
  return structuredClone(applied)
}

/** `.spec.containers[name="app"].image`: how conflict messages print a path. */
export const pathString = (path: Path): string =>
  path
    .map((el) => {
      if (el.startsWith("f:")) return `.${el.slice(2)}`
      if (el.startsWith("i:")) return `[${el.slice(2)}]`
      if (el.startsWith("v:")) return `[=${el.slice(2)}]`
      const key: unknown = JSON.parse(el.slice(2))
      return isRecord(key)
        ? `[${Object.entries(key)
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(",")}]`
        : el
    })
    .join("")
