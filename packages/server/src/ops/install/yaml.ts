/**
 * A small, deterministic YAML emitter for JSON data: objects, arrays, strings, finite numbers,
 * booleans and null, in block style with keys in insertion order. Whatever it writes reads back,
 * in YAML 1.1 and 1.2 parsers alike (kubectl's, PyYAML, js-yaml), as exactly the JSON it was
 * given: a string is left plain only when no parser could take it for anything else.
 */

export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

// Plain only: starts with a letter, `/` or `_`, then letters, digits, `_`, `.`, `/` and `-`, with
// a `:` only between such characters. Nothing that starts like a number, an indicator or a tag.
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./-]*(:[A-Za-z0-9_./-]+)*$/
// Words some YAML 1.1 parser reads as a boolean or null.
const RESERVED = new Set(["y", "n", "yes", "no", "on", "off", "true", "false", "null"])

/** A double-quoted scalar with every character outside printable ASCII escaped. */
const quoted = (s: string) => {
  let out = '"'
  for (const ch of s) {
    const cp = ch.codePointAt(0)!
    if (ch === '"') out += '\\"'
    else if (ch === "\\") out += "\\\\"
    else if (ch === "\n") out += "\\n"
    else if (ch === "\t") out += "\\t"
    else if (cp >= 0x20 && cp <= 0x7e) out += ch
    else if (cp > 0xffff) out += `\\U${cp.toString(16).toUpperCase().padStart(8, "0")}`
    else out += `\\u${cp.toString(16).toUpperCase().padStart(4, "0")}`
  }
  return `${out}"`
}

export const scalarString = (s: string) => (PLAIN.test(s) && !RESERVED.has(s.toLowerCase()) ? s : quoted(s))

// YAML 1.1 reads `1e+21` as a string: a float needs a dot before its exponent.
const scalarNumber = (n: number) => {
  if (!Number.isFinite(n)) throw new Error(`YAML: ${n} is not a JSON number`)
  const s = String(n)
  return /e/.test(s) && !/\./.test(s) ? s.replace("e", ".0e") : s
}

const scalar = (value: Json): string | undefined => {
  if (value === null) return "null"
  if (typeof value === "boolean") return value ? "true" : "false"
  if (typeof value === "number") return scalarNumber(value)
  if (typeof value === "string") return scalarString(value)
  if (Array.isArray(value)) return value.length === 0 ? "[]" : undefined
  return Object.keys(value).length === 0 ? "{}" : undefined
}

const indent = (lines: ReadonlyArray<string>) => lines.map((l) => `  ${l}`)

/** The value as lines at indentation zero. */
const lines = (value: Json): ReadonlyArray<string> => {
  const s = scalar(value)
  if (s !== undefined) return [s]
  if (Array.isArray(value)) {
    return value.flatMap((item: Json) => {
      const [first, ...rest] = lines(item)
      // A nested list's first item sits on the dash's line, like a mapping's first key.
      return [`- ${first}`, ...indent(rest)]
    })
  }
  return Object.entries(value as { readonly [key: string]: Json }).flatMap(([key, v]) => {
    const k = scalarString(key)
    const inline = scalar(v)
    return inline !== undefined ? [`${k}: ${inline}`] : [`${k}:`, ...indent(lines(v))]
  })
}

/** One YAML document, ending in a line feed. */
export const toYaml = (value: Json): string => `${lines(value).join("\n")}\n`

/** Several documents, each started by `---`, as `kubectl apply -f -` reads them. */
export const toYamlDocuments = (values: ReadonlyArray<Json>): string => values.map((v) => `---\n${toYaml(v)}`).join("")
