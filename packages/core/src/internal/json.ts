/**
 * What `JSON.parse(JSON.stringify(value))` returns, without the string in between: every write to
 * the memory store and the memory provider copies this way, so it is on the hot path. Follows
 * JSON's rules: `toJSON` is honoured, `undefined`, functions and symbols vanish from objects and
 * become `null` in arrays, non-finite numbers become `null`; a cycle or a bigint throws, as there.
 */
export const jsonClone = (value: unknown): unknown => cloneIn(value, "", new Set())

const cloneIn = (value: unknown, key: string, seen: Set<object>): unknown => {
  if (value !== null && typeof value === "object" && typeof (value as { toJSON?: unknown }).toJSON === "function") {
    value = (value as { toJSON: (key: string) => unknown }).toJSON(key)
  }
  switch (typeof value) {
    case "string":
    case "boolean":
      return value
    case "number":
      // -0 prints as 0.
      return Number.isFinite(value) ? value + 0 : null
    case "bigint":
      throw new TypeError("Do not know how to serialize a BigInt")
    case "object": {
      if (value === null) return null
      if (seen.has(value)) throw new TypeError("Converting circular structure to JSON")
      seen.add(value)
      let out: unknown
      if (Array.isArray(value)) {
        const arr = new Array<unknown>(value.length)
        for (let i = 0; i < value.length; i++) arr[i] = cloneIn(value[i], String(i), seen) ?? null
        out = arr
      } else if (value instanceof Number || value instanceof String || value instanceof Boolean) {
        out = cloneIn(value.valueOf(), key, seen)
      } else {
        const obj: Record<string, unknown> = {}
        for (const k of Object.keys(value)) {
          const v = cloneIn((value as Record<string, unknown>)[k], k, seen)
          if (v !== undefined) obj[k] = v
        }
        out = obj
      }
      seen.delete(value)
      return out
    }
    default:
      return undefined
  }
}

/** Deep equality of two JSON values, as their canonical forms would compare, without building them. */
export const jsonEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const ra = a as Record<string, unknown>
  const rb = b as Record<string, unknown>
  let count = 0
  for (const k of Object.keys(ra)) {
    if (ra[k] === undefined) continue
    count++
    if (!jsonEqual(ra[k], rb[k])) return false
  }
  for (const k of Object.keys(rb)) if (rb[k] !== undefined) count--
  return count === 0
}
