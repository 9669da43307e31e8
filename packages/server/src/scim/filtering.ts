import { type Filter, type FilterValue, parseFilter } from "./filter.ts"
import { isObject, type Json, read } from "./paths.ts"
import { ScimError } from "./ScimError.ts"

/**
 * Which filters a resource type can be listed by, and their evaluation over the resource as it is
 * rendered. What identity providers send is supported: comparisons joined by `and`, and
 * `members[value eq "…"]`; everything else is refused by name so no provider mistakes an
 * unfiltered list for an answer.
 */

export interface FilterAttribute {
  /** `multi`: a multi-valued complex attribute, compared by its `value` and open to `[…]`. */
  readonly type: "string" | "boolean" | "multi"
  /** Ids compare exactly (RFC 7643 `caseExact`); names and addresses do not. */
  readonly caseExact?: boolean
}

export interface FilterRules {
  /** The core schema's URN, which may prefix an attribute (`urn:…:User:userName`). */
  readonly schema: string
  /** By path in lower case, e.g. `emails.value`. */
  readonly attributes: Readonly<Record<string, FilterAttribute>>
  /** Attributes a provider may ask for that clawfleet does not keep, with what to do instead. */
  readonly notKept?: Readonly<Record<string, string>>
}

type Test = (resource: unknown) => boolean

const TEXT_OPERATORS = new Set(["eq", "sw", "co", "ew"])

const refuse = (detail: string) => ScimError.invalidFilter(detail)

/** Every value a dotted path reaches, multi-valued attributes flattened; a complex value stands for its `value`. */
const valuesAt = (resource: unknown, segments: ReadonlyArray<string>): ReadonlyArray<unknown> => {
  if (Array.isArray(resource)) return resource.flatMap((v) => valuesAt(v, segments))
  if (segments.length === 0) return [isObject(resource) ? read(resource, "value") : resource]
  return valuesAt(read(resource, segments[0]!), segments.slice(1))
}

const textTest = (op: string, expected: string, caseExact: boolean) => {
  const fold = (s: string) => (caseExact ? s : s.toLowerCase())
  const want = fold(expected)
  return (actual: unknown) => {
    if (typeof actual !== "string") return false
    const have = fold(actual)
    return op === "eq" ? have === want : op === "sw" ? have.startsWith(want) : op === "co" ? have.includes(want) : have.endsWith(want)
  }
}

const asBoolean = (value: FilterValue) =>
  typeof value === "boolean"
    ? value
    : typeof value === "string" && /^(true|false)$/i.test(value)
      ? value.toLowerCase() === "true"
      : undefined

const compile = (filter: Filter, prefix: string, rules: FilterRules): Test | ScimError => {
  if (filter.kind === "and") {
    const left = compile(filter.left, prefix, rules)
    if (left instanceof ScimError) return left
    const right = compile(filter.right, prefix, rules)
    if (right instanceof ScimError) return right
    return (r) => left(r) && right(r)
  }
  if (filter.kind !== "compare" && filter.kind !== "valuePath") {
    return refuse(`"${filter.kind}" is not supported in filters: use comparisons (eq, sw, co, ew) joined by "and"`)
  }
  const core = `${rules.schema.toLowerCase()}:`
  const relative = filter.path.toLowerCase().startsWith(core) ? filter.path.slice(core.length) : filter.path
  const name = `${prefix}${relative}`
  const attribute = rules.attributes[name.toLowerCase()]
  if (attribute === undefined) {
    const instead = rules.notKept?.[name.toLowerCase()]
    if (instead !== undefined) return refuse(`filtering on ${name} is not supported: ${instead}`)
    return refuse(`filtering on ${name} is not supported; use one of ${Object.keys(rules.attributes).join(", ")}`)
  }
  const segments = relative.split(".")
  if (filter.kind === "valuePath") {
    if (attribute.type !== "multi") return refuse(`${name}[…] needs a multi-valued attribute`)
    const inner = compile(filter.filter, `${name}.`, rules)
    if (inner instanceof ScimError) return inner
    return (r) => {
      const elements = read(r, relative)
      return Array.isArray(elements) && elements.some(inner)
    }
  }
  const { op, value } = filter
  if (attribute.type === "boolean") {
    const wanted = asBoolean(value)
    if (op !== "eq" || wanted === undefined) return refuse(`${name} can only be compared with eq true or eq false`)
    return (r) => valuesAt(r, segments).some((v) => v === wanted)
  }
  if (!TEXT_OPERATORS.has(op)) return refuse(`the operator ${op} is not supported on ${name}: use eq, sw, co or ew`)
  if (typeof value !== "string") return refuse(`${name} can only be compared with a string`)
  const test = textTest(op, value, attribute.caseExact === true)
  return (r) => valuesAt(r, segments).some(test)
}

/**
 * The filter as a test of a rendered resource, undefined for no filter, or the `invalidFilter`
 * error naming what is not supported.
 */
export const compileFilter = (text: string | undefined, rules: FilterRules): Test | undefined | ScimError => {
  if (text === undefined || text.trim() === "") return undefined
  const filter = parseFilter(text)
  if (filter instanceof ScimError) return filter
  return compile(filter, "", rules)
}

export const matchAll = (resources: ReadonlyArray<Json>, test: Test | undefined) =>
  test === undefined ? resources : resources.filter(test)
