import { ScimError } from "./ScimError.ts"

/**
 * SCIM filter expressions (RFC 7644 §3.4.2.2), parsed in full so that what clawfleet does not
 * evaluate can be refused by name (`or`, `gt`) rather than as unreadable.
 */

export const COMPARISONS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"] as const
export type Comparison = (typeof COMPARISONS)[number]
export type FilterValue = string | number | boolean | null

export type Filter =
  | { readonly kind: "compare"; readonly path: string; readonly op: Comparison; readonly value: FilterValue }
  | { readonly kind: "present"; readonly path: string }
  | { readonly kind: "and" | "or"; readonly left: Filter; readonly right: Filter }
  | { readonly kind: "not"; readonly filter: Filter }
  /** `emails[type eq "work"]`: some value of a multi-valued attribute matches the inner filter. */
  | { readonly kind: "valuePath"; readonly path: string; readonly filter: Filter }

type Token =
  | { readonly t: "word"; readonly text: string }
  | { readonly t: "string"; readonly value: string }
  | { readonly t: "number"; readonly value: number }
  | { readonly t: "(" | ")" | "[" | "]" }

// A word is an attribute path (URNs carry colons and dots), an operator or a keyword.
const lexer = /\s*(?:("(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|([A-Za-z$][\w$:.-]*)|([()[\]]))/y

/** Deep enough for any filter a person writes; a bound so hostile input cannot exhaust the stack. */
const MAX_DEPTH = 32
const MAX_LENGTH = 4096

// Values are JSON strings (RFC 7644 §3.4.2.2); JSON's rules on escapes and control characters apply.
const jsonString = (text: string): string | undefined => {
  try {
    return JSON.parse(text) as string
  } catch {
    return undefined
  }
}

const tokenize = (text: string): ReadonlyArray<Token> | ScimError => {
  const out: Array<Token> = []
  lexer.lastIndex = 0
  while (!/^\s*$/.test(text.slice(lexer.lastIndex))) {
    const at = lexer.lastIndex
    const m = lexer.exec(text)
    if (m === null) return ScimError.invalidFilter(`cannot read the filter at ${JSON.stringify(text.slice(at, at + 20))}`)
    if (m[1] !== undefined) {
      const value = jsonString(m[1])
      if (value === undefined) return ScimError.invalidFilter(`${m[1]} is not a JSON string`)
      out.push({ t: "string", value })
    } else if (m[2] !== undefined) out.push({ t: "number", value: Number(m[2]) })
    else if (m[3] !== undefined) out.push({ t: "word", text: m[3] })
    else out.push({ t: m[4] as "(" | ")" | "[" | "]" })
  }
  return out
}

const isWord = (token: Token | undefined, word: string) => token?.t === "word" && token.text.toLowerCase() === word

class Refusal {
  readonly detail: string
  constructor(detail: string) {
    this.detail = detail
  }
}

/** Parses a filter; every failure, whatever the input, is an `invalidFilter` ScimError. */
export const parseFilter = (text: string): Filter | ScimError => {
  if (text.length > MAX_LENGTH) return ScimError.invalidFilter(`the filter is longer than ${MAX_LENGTH} characters`)
  const tokens = tokenize(text)
  if (tokens instanceof ScimError) return tokens
  let i = 0
  const fail = (detail: string): never => {
    throw new Refusal(detail)
  }
  const describe = (token: Token | undefined) =>
    token === undefined
      ? "the end"
      : token.t === "word"
        ? JSON.stringify(token.text)
        : token.t === "string"
          ? JSON.stringify(token.value)
          : token.t === "number"
            ? String(token.value)
            : `"${token.t}"`
  const expect = (t: ")" | "]") => {
    if (tokens[i]?.t !== t) fail(`expected "${t}" but found ${describe(tokens[i])}`)
    i++
  }

  const orExpr = (depth: number): Filter => {
    if (depth > MAX_DEPTH) fail(`the filter nests deeper than ${MAX_DEPTH}`)
    let left = andExpr(depth)
    while (isWord(tokens[i], "or")) {
      i++
      left = { kind: "or", left, right: andExpr(depth) }
    }
    return left
  }
  const andExpr = (depth: number): Filter => {
    let left = unary(depth)
    while (isWord(tokens[i], "and")) {
      i++
      left = { kind: "and", left, right: unary(depth) }
    }
    return left
  }
  const unary = (depth: number): Filter => {
    const token = tokens[i]
    if (isWord(token, "not") && tokens[i + 1]?.t === "(") {
      i += 2
      const filter = orExpr(depth + 1)
      expect(")")
      return { kind: "not", filter }
    }
    if (token?.t === "(") {
      i++
      const filter = orExpr(depth + 1)
      expect(")")
      return filter
    }
    if (token?.t !== "word") return fail(`expected an attribute but found ${describe(token)}`)
    i++
    const path = token.text
    const next = tokens[i]
    if (next?.t === "[") {
      i++
      const filter = orExpr(depth + 1)
      expect("]")
      return { kind: "valuePath", path, filter }
    }
    if (isWord(next, "pr")) {
      i++
      return { kind: "present", path }
    }
    const op = next?.t === "word" ? COMPARISONS.find((c) => c === next.text.toLowerCase()) : undefined
    if (op === undefined) return fail(`expected an operator after ${path} but found ${describe(next)}`)
    i++
    return { kind: "compare", path, op, value: literal() }
  }
  const literal = (): FilterValue => {
    const token = tokens[i++]
    if (token?.t === "string" || token?.t === "number") return token.value
    if (isWord(token, "true")) return true
    if (isWord(token, "false")) return false
    if (isWord(token, "null")) return null
    return fail(`expected a value but found ${describe(token)}`)
  }

  try {
    const filter = orExpr(0)
    if (i < tokens.length) fail(`unexpected ${describe(tokens[i])}`)
    return filter
  } catch (e) {
    if (e instanceof Refusal) return ScimError.invalidFilter(`${e.detail} in the filter ${JSON.stringify(text)}`)
    throw e
  }
}

const printValue = (v: FilterValue) => (typeof v === "string" ? JSON.stringify(v) : String(v))

/** The filter as text that `parseFilter` reads back to the same tree. */
export const printFilter = (filter: Filter): string => {
  switch (filter.kind) {
    case "compare":
      return `${filter.path} ${filter.op} ${printValue(filter.value)}`
    case "present":
      return `${filter.path} pr`
    case "not":
      return `not (${printFilter(filter.filter)})`
    case "valuePath":
      return `${filter.path}[${printFilter(filter.filter)}]`
    default: {
      // Both are left-associative and `and` binds tighter, so only these need parentheses.
      const binds = (f: Filter) => (f.kind === "or" ? 1 : f.kind === "and" ? 2 : 3)
      const own = binds(filter)
      const left = binds(filter.left) < own ? `(${printFilter(filter.left)})` : printFilter(filter.left)
      const right = binds(filter.right) <= own ? `(${printFilter(filter.right)})` : printFilter(filter.right)
      return `${left} ${filter.kind} ${right}`
    }
  }
}
