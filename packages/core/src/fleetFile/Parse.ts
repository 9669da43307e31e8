import { Effect, Schema, SchemaIssue } from "effect"
import { isNode, LineCounter, parseDocument } from "yaml"
import { type FleetSpec, FleetSpec as FleetSpecSchema, grantKey, tenantNameOf } from "./Spec.ts"

/**
 * A fleet file that cannot be used as it is: not YAML, not a fleet, not consistent, or naming
 * what exists nowhere. `problems` name their place as `fleet.yaml:12: people[3].team: …`.
 */
export class FleetFileError extends Schema.TaggedError<FleetFileError>()("FleetFileError", {
  summary: Schema.String,
  problems: Schema.Array(Schema.String)
}) {
  override get message() {
    return `${this.summary}:\n  ${this.problems.join("\n  ")}`
  }
}

/** A parsed fleet file and a way back from a path in it to `file:line`. */
export interface FleetFile {
  readonly spec: FleetSpec
  /** `fleet.yaml:12` for `["people", 3, "team"]`: the nearest node that exists. */
  readonly locate: (path: ReadonlyArray<string | number>) => string
}

/** A spec made in code rather than read from a file: problems name their path only. */
export const fromSpec = (spec: FleetSpec, name = "fleet file"): FleetFile => ({ spec, locate: () => name })

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const pathText = (path: ReadonlyArray<string | number>) =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("")

/** Where to find a problem, for messages: `fleet.yaml:12: people[3].team: …`. */
export const problemAt = (file: Pick<FleetFile, "locate">, path: ReadonlyArray<string | number>, message: string) =>
  `${file.locate(path)}: ${path.length > 0 ? `${pathText(path)}: ` : ""}${message}`

/** Parses and validates a fleet file's text; every problem names its line. `name` is the file's, for messages. */
export const parseFleetFile = (text: string, name: string): Effect.Effect<FleetFile, FleetFileError> =>
  Effect.gen(function* () {
    const lineCounter = new LineCounter()
    const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false })
    if (doc.errors.length > 0) {
      const problems = doc.errors.map((e) => {
        const at = lineCounter.linePos(e.pos[0])
        return `${name}:${at.line}:${at.col}: ${e.message.split("\n")[0]}`
      })
      return yield* new FleetFileError({ summary: `${name} is not valid YAML`, problems })
    }
    const locate = (path: ReadonlyArray<string | number>): string => {
      for (let n = path.length; n >= 0; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true)
        if (isNode(node) && node.range) return `${name}:${lineCounter.linePos(node.range[0]).line}`
      }
      return name
    }
    const spec = yield* Schema.decodeUnknownEffect(FleetSpecSchema)(doc.toJS() ?? {}, { onExcessProperty: "error", errors: "all" }).pipe(
      Effect.mapError((error) => {
        const problems = formatIssues(error.issue).issues.map((issue) => {
          const path = (issue.path ?? []).map((p) => {
            const key = typeof p === "object" && p !== null ? p.key : p
            return typeof key === "number" ? key : String(key)
          })
          return problemAt({ locate }, path, issue.message)
        })
        return new FleetFileError({ summary: `${name} does not describe a fleet`, problems })
      })
    )
    const file: FleetFile = { spec, locate }
    yield* checkUnique(file)
    return file
  })

/** Ids must be unique within a kind, tenant names across people, and grants within the list. */
const checkUnique = (file: FleetFile): Effect.Effect<void, FleetFileError> => {
  const problems: Array<string> = []
  const unique = (kind: "departments" | "teams" | "people" | "grants", keys: ReadonlyArray<string>, at: ReadonlyArray<string>) => {
    const seen = new Set<string>()
    keys.forEach((key, i) => {
      if (seen.has(key)) problems.push(problemAt(file, [kind, i, ...at], `"${key}" is listed twice`))
      seen.add(key)
    })
  }
  const spec = file.spec
  unique(
    "departments",
    (spec.departments ?? []).map((d) => d.id),
    ["id"]
  )
  unique(
    "teams",
    (spec.teams ?? []).map((t) => t.id),
    ["id"]
  )
  unique(
    "people",
    (spec.people ?? []).map((p) => p.id),
    ["id"]
  )
  unique("grants", (spec.grants ?? []).map(grantKey), [])
  const tenants = new Map<string, string>()
  ;(spec.people ?? []).forEach((p, i) => {
    const name = tenantNameOf(p)
    if (name === undefined) return
    const other = tenants.get(name)
    if (other !== undefined && other !== p.id) {
      problems.push(problemAt(file, ["people", i, "tenant"], `tenant "${name}" is already ${other}'s`))
    }
    tenants.set(name, p.id)
  })
  return problems.length === 0 ? Effect.void : Effect.fail(new FleetFileError({ summary: "the fleet file is not consistent", problems }))
}
