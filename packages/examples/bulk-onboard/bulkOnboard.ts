import { type Department, Directory, DnsLabel, Email, type FleetError, type Person, type Team, TenantName, Tenants } from "@clawfleet/core"
import { Effect, Schema } from "effect"
import { type ApplyOptions, apply } from "./apply.ts"
import { type BadRow, type Row, readRows } from "./rows.ts"

export { type ApplyOptions, type ApplyReport, apply, type Failure } from "./apply.ts"
export { type CsvRecord, csvRecords, parseCsv } from "./csv.ts"
export { type BadRow, columns, type Row, readRows } from "./rows.ts"

const isDnsLabel = Schema.is(DnsLabel)
const isEmail = Schema.is(Email)
const isTenantName = Schema.is(TenantName)

export interface StoreState {
  readonly departments: ReadonlyMap<string, Department>
  readonly teams: ReadonlyMap<string, Team>
  readonly people: ReadonlyMap<string, Person>
  /** Tenant names, each with its owner. */
  readonly tenants: ReadonlyMap<string, string>
}

export type PersonPatch = {
  email?: string
  displayName?: string
  team?: string | null
  department?: string | null
  disabled?: false
}

export type Change =
  | {
      readonly action: "create"
      readonly kind: "department"
      readonly id: string
      readonly line: number
      readonly department: typeof Department.Encoded
    }
  | { readonly action: "create"; readonly kind: "team"; readonly id: string; readonly line: number; readonly team: typeof Team.Encoded }
  | {
      readonly action: "create"
      readonly kind: "person"
      readonly id: string
      readonly line: number
      readonly person: typeof Person.Encoded
    }
  | { readonly action: "create"; readonly kind: "tenant"; readonly id: string; readonly line: number; readonly owner: string }
  | { readonly action: "update"; readonly kind: "person"; readonly id: string; readonly line: number; readonly patch: PersonPatch }
  | { readonly action: "offboard"; readonly kind: "person"; readonly id: string }

export interface Plan {
  readonly changes: ReadonlyArray<Change>
  readonly bad: ReadonlyArray<BadRow>
  /** The number of people the file would create (each with a tenant named after them). */
  readonly counts: {
    readonly departments: number
    readonly teams: number
    readonly people: number
    readonly tenants: number
    readonly updates: number
    readonly offboards: number
  }
}

export interface PlanOptions {
  /** Offboard people the file does not list (this suspends their tenants). Default false. */
  readonly prune?: boolean
  /**
   * Create the departments and teams the rows name but the store lacks (named after their id; a
   * new team belongs to its rows' department). Default true. When false, they are bad rows.
   */
  readonly createOrg?: boolean
}

/** Reads departments, teams, people and tenants from the store. */
export const readState: Effect.Effect<StoreState, FleetError, Directory | Tenants> = Effect.gen(function* () {
  const directory = yield* Directory
  const tenants = yield* Tenants
  const [departments, teams, people, ts] = yield* Effect.all(
    [directory.departments.all, directory.teams.all, directory.people.all, tenants.all],
    { concurrency: 4 }
  )
  return {
    departments: new Map(departments.map((d) => [d.value.id, d.value])),
    teams: new Map(teams.map((t) => [t.value.id, t.value])),
    people: new Map(people.map((p) => [p.value.id, p.value])),
    tenants: new Map(ts.map((t) => [t.value.name, t.value.spec.owner]))
  }
})

/**
 * What must change for the store to match the rows. Pure: bad rows are reported with their line
 * and left out; every other row is planned. Each person gets a tenant named after their id.
 */
export const diff = (rows: ReadonlyArray<Row>, state: StoreState, options: PlanOptions = {}): Plan => {
  const createOrg = options.createOrg ?? true
  const bad: Array<BadRow> = []
  const departments = new Map<string, number>() // created by the file: id → first line
  const teams = new Map<string, { readonly department: string; readonly line: number }>()
  const seen = new Map<string, number>()
  const good: Array<Row & { readonly dept: string }> = []

  for (const row of rows) {
    const reasons: Array<string> = []
    const first = seen.get(row.id)
    if (first !== undefined) reasons.push(`duplicate id "${row.id}" (first on line ${first})`)
    if (!isDnsLabel(row.id)) reasons.push(`id "${row.id}" must be lower-case letters, digits and '-' (at most 63)`)
    else if (!isTenantName(row.id)) reasons.push(`id "${row.id}" cannot name a tenant (at most 40 characters)`)
    if (!isEmail(row.email)) reasons.push(`email "${row.email}" is not an e-mail address`)
    if (row.displayName.length > 200) reasons.push("displayName is longer than 200 characters")
    if (row.team !== "" && !isDnsLabel(row.team)) reasons.push(`team "${row.team}" is not a valid id`)
    if (row.department !== "" && !isDnsLabel(row.department)) reasons.push(`department "${row.department}" is not a valid id`)
    const owner = state.tenants.get(row.id)
    if (owner !== undefined && owner !== row.id) reasons.push(`tenant "${row.id}" already exists and belongs to ${owner}`)

    // The department: the row's, else its team's.
    let dept = row.department
    if (reasons.length === 0 && row.team !== "") {
      const existing = state.teams.get(row.team)
      const planned = teams.get(row.team)
      const teamDept = existing?.department ?? planned?.department
      if (teamDept !== undefined && dept !== "" && teamDept !== dept) {
        reasons.push(`team "${row.team}" belongs to department "${teamDept}", not "${dept}"`)
      } else if (teamDept !== undefined) dept = teamDept
      else if (!createOrg) reasons.push(`unknown team "${row.team}"`)
      else if (dept === "") reasons.push(`unknown team "${row.team}" and no department to create it in`)
    }
    if (reasons.length === 0 && dept !== "" && !state.departments.has(dept) && !departments.has(dept) && !createOrg) {
      reasons.push(`unknown department "${dept}"`)
    }
    if (reasons.length > 0) {
      bad.push({ line: row.line, id: row.id, reasons })
      if (first === undefined && isDnsLabel(row.id)) seen.set(row.id, row.line)
      continue
    }
    seen.set(row.id, row.line)
    if (dept !== "" && !state.departments.has(dept) && !departments.has(dept)) departments.set(dept, row.line)
    if (row.team !== "" && !state.teams.has(row.team) && !teams.has(row.team)) teams.set(row.team, { department: dept, line: row.line })
    good.push({ ...row, dept })
  }

  const changes: Array<Change> = []
  for (const [id, line] of departments)
    changes.push({ action: "create", kind: "department", id, line, department: { id, displayName: id } })
  for (const [id, t] of teams)
    changes.push({ action: "create", kind: "team", id, line: t.line, team: { id, displayName: id, department: t.department } })
  let people = 0
  let tenants = 0
  let updates = 0
  for (const row of good) {
    const current = state.people.get(row.id)
    if (current === undefined) {
      const person: typeof Person.Encoded = {
        id: row.id,
        email: row.email,
        displayName: row.displayName,
        ...(row.team !== "" ? { team: row.team } : {}),
        ...(row.dept !== "" ? { department: row.dept } : {})
      }
      changes.push({ action: "create", kind: "person", id: row.id, line: row.line, person })
      people++
      if (!state.tenants.has(row.id)) tenants++
      continue
    }
    const patch: PersonPatch = {}
    if (current.email !== row.email) patch.email = row.email
    if (current.displayName !== row.displayName) patch.displayName = row.displayName
    if ((current.team ?? "") !== row.team) patch.team = row.team === "" ? null : row.team
    if ((current.department ?? "") !== row.dept) patch.department = row.dept === "" ? null : row.dept
    if (current.disabled) patch.disabled = false
    if (Object.keys(patch).length > 0) {
      changes.push({ action: "update", kind: "person", id: row.id, line: row.line, patch })
      updates++
    }
    if (!state.tenants.has(row.id) && !current.disabled) {
      changes.push({ action: "create", kind: "tenant", id: row.id, line: row.line, owner: row.id })
      tenants++
    }
  }
  let offboards = 0
  if (options.prune) {
    for (const p of state.people.values()) {
      if (!seen.has(p.id) && !p.disabled) {
        changes.push({ action: "offboard", kind: "person", id: p.id })
        offboards++
      }
    }
  }
  bad.sort((a, b) => a.line - b.line)
  return { changes, bad, counts: { departments: departments.size, teams: teams.size, people, tenants, updates, offboards } }
}

/** Parses the CSV and plans it against the store. */
export const plan = (csv: string, options: PlanOptions = {}) =>
  Effect.gen(function* () {
    const read = readRows(csv)
    const state = yield* readState
    const p = diff(read.rows, state, options)
    return {
      ...p,
      bad: [...read.bad, ...p.bad].sort((a, b) => a.line - b.line),
      ...(read.fatal !== undefined ? { fatal: read.fatal } : {})
    }
  })

/** Plans and applies in one go; the bad rows come back beside the failures. */
export const bulkOnboard = (csv: string, options: PlanOptions & ApplyOptions = {}) =>
  Effect.gen(function* () {
    const p = yield* plan(csv, options)
    const report = yield* apply(p, options)
    return { plan: p, ...report }
  })
