import { DisplayName, DnsLabel, Email, OpenClawVersion, Quantity, TenantName } from "@clawfleet/core"
import { Effect, Schema, SchemaIssue } from "effect"
import { isNode, LineCounter, parseDocument } from "yaml"
import { UsageError } from "./Errors.ts"

/**
 * A fleet file: the organisation as it should be, in YAML.
 *
 * ```yaml
 * defaults:
 *   tenant: { openclaw: { version: "2026.9.6" }, resources: { cpu: 500m, memory: 1Gi } }
 * departments:
 *   - { id: engineering, displayName: Engineering }
 * teams:
 *   - { id: platform, displayName: Platform, department: engineering }
 * people:
 *   - id: ada
 *     email: ada@example.com
 *     displayName: Ada Lovelace
 *     team: platform
 *     tenant: { openclaw: { version: "2026.9.6" } }   # or `tenant: false` for no assistant
 * ```
 *
 * Every person gets an assistant named after them unless `tenant` is `false` or names another.
 * Only what the file says is compared: a tenant without a version keeps whatever the server has.
 * Unknown members are errors, so a typo does not silently do nothing.
 */

export const TenantSettings = Schema.Struct({
  openclaw: Schema.optionalKey(Schema.Struct({ version: Schema.optionalKey(OpenClawVersion) })),
  resources: Schema.optionalKey(
    Schema.Struct({ cpu: Schema.optionalKey(Quantity), memory: Schema.optionalKey(Quantity), storage: Schema.optionalKey(Quantity) })
  )
})
export type TenantSettings = typeof TenantSettings.Type

export const FleetPerson = Schema.Struct({
  id: DnsLabel,
  email: Email,
  displayName: DisplayName,
  team: Schema.optionalKey(DnsLabel),
  department: Schema.optionalKey(DnsLabel),
  tenant: Schema.optionalKey(
    Schema.Union([Schema.Literal(false), Schema.Struct({ name: Schema.optionalKey(TenantName), ...TenantSettings.fields })])
  )
})
export type FleetPerson = typeof FleetPerson.Type

export const FleetSpec = Schema.Struct({
  defaults: Schema.optionalKey(Schema.Struct({ tenant: Schema.optionalKey(TenantSettings) })),
  departments: Schema.optionalKey(Schema.Array(Schema.Struct({ id: DnsLabel, displayName: DisplayName }))),
  teams: Schema.optionalKey(Schema.Array(Schema.Struct({ id: DnsLabel, displayName: DisplayName, department: DnsLabel }))),
  people: Schema.optionalKey(Schema.Array(FleetPerson))
})
export type FleetSpec = typeof FleetSpec.Type

/** A parsed fleet file and a way back from a path in it to `file:line`. */
export interface FleetFile {
  readonly spec: FleetSpec
  /** `fleet.yaml:12` for `["people", 3, "team"]`: the nearest node that exists. */
  readonly locate: (path: ReadonlyArray<string | number>) => string
}

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const pathText = (path: ReadonlyArray<string | number>) =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("")

/** Where to find a problem, for messages: `fleet.yaml:12: people[3].team: …`. */
export const problemAt = (file: FleetFile, path: ReadonlyArray<string | number>, message: string) =>
  `${file.locate(path)}: ${path.length > 0 ? `${pathText(path)}: ` : ""}${message}`

/** Parses and validates a fleet file's text; every problem is a `UsageError` naming its line. */
export const parseFleet = (text: string, name: string): Effect.Effect<FleetFile, UsageError> =>
  Effect.gen(function* () {
    const lineCounter = new LineCounter()
    const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false })
    if (doc.errors.length > 0) {
      const lines = doc.errors.map((e) => {
        const at = lineCounter.linePos(e.pos[0])
        return `${name}:${at.line}:${at.col}: ${e.message.split("\n")[0]}`
      })
      return yield* new UsageError({ message: `${name} is not valid YAML:\n  ${lines.join("\n  ")}` })
    }
    const locate = (path: ReadonlyArray<string | number>): string => {
      for (let n = path.length; n >= 0; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true)
        if (isNode(node) && node.range) return `${name}:${lineCounter.linePos(node.range[0]).line}`
      }
      return name
    }
    const file = { locate }
    const data = doc.toJS() ?? {}
    const spec = yield* Schema.decodeUnknownEffect(FleetSpec)(data, { onExcessProperty: "error", errors: "all" }).pipe(
      Effect.mapError((error) => {
        const issues = formatIssues(error.issue).issues.map((issue) => {
          const path = (issue.path ?? []).map((p) => {
            const key = typeof p === "object" && p !== null ? p.key : p
            return typeof key === "number" ? key : String(key)
          })
          return problemAt({ spec: {}, ...file }, path, issue.message)
        })
        return new UsageError({ message: `${name} does not describe a fleet:\n  ${issues.join("\n  ")}` })
      })
    )
    const fleet: FleetFile = { spec, locate }
    yield* checkUnique(fleet)
    return fleet
  })

/** Ids must be unique within a kind, and tenant names across people. */
const checkUnique = (file: FleetFile): Effect.Effect<void, UsageError> => {
  const problems: Array<string> = []
  const unique = (kind: "departments" | "teams" | "people", ids: ReadonlyArray<string>) => {
    const seen = new Set<string>()
    ids.forEach((id, i) => {
      if (seen.has(id)) problems.push(problemAt(file, [kind, i, "id"], `"${id}" is listed twice`))
      seen.add(id)
    })
  }
  unique(
    "departments",
    (file.spec.departments ?? []).map((d) => d.id)
  )
  unique(
    "teams",
    (file.spec.teams ?? []).map((t) => t.id)
  )
  unique(
    "people",
    (file.spec.people ?? []).map((p) => p.id)
  )
  const tenants = new Map<string, string>()
  ;(file.spec.people ?? []).forEach((p, i) => {
    const name = tenantNameOf(p)
    if (name === undefined) return
    const other = tenants.get(name)
    if (other !== undefined && other !== p.id) {
      problems.push(problemAt(file, ["people", i, "tenant"], `tenant "${name}" is already ${other}'s`))
    }
    tenants.set(name, p.id)
  })
  return problems.length === 0
    ? Effect.void
    : Effect.fail(new UsageError({ message: `the fleet file is not consistent:\n  ${problems.join("\n  ")}` }))
}

/** The person's tenant name, or undefined when they have none. */
export const tenantNameOf = (person: FleetPerson): string | undefined =>
  person.tenant === false ? undefined : (person.tenant?.name ?? person.id)

/** The person's tenant settings over the file's defaults. */
export const tenantSettingsOf = (spec: FleetSpec, person: FleetPerson): TenantSettings => {
  const own = person.tenant === false || person.tenant === undefined ? {} : person.tenant
  const defaults = spec.defaults?.tenant ?? {}
  const version = own.openclaw?.version ?? defaults.openclaw?.version
  const resources = { ...defaults.resources, ...own.resources }
  return {
    ...(version !== undefined ? { openclaw: { version } } : {}),
    ...(Object.keys(resources).length > 0 ? { resources } : {})
  }
}
