import {
  type Department,
  Directory,
  DnsLabel,
  Email,
  Fleet,
  type FleetError,
  type Person,
  type Team,
  TenantName,
  Tenants
} from "@clawfleet/core"
import { Effect, Schema } from "effect"

import { type CsvRecord, parseCsv } from "./csv.ts"

export { type CsvRecord, parseCsv }

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

export const columns = ["id", "email", "displayName", "team", "department"] as const

export interface Row {
  readonly line: number
  readonly id: string
  readonly email: string
  readonly displayName: string
  /** Empty when the person has no team. */
  readonly team: string
  /** Empty when the person has no department (their team's department is used when they have a team). */
  readonly department: string
}

export interface BadRow {
  readonly line: number
  readonly id?: string
  readonly reasons: ReadonlyArray<string>
}

const isDnsLabel = Schema.is(DnsLabel)
const isEmail = Schema.is(Email)
const isTenantName = Schema.is(TenantName)

/** Reads the header and the rows; rows with missing fields are bad rows, the rest are kept. */
export const readRows = (
  text: string
): { readonly rows: ReadonlyArray<Row>; readonly bad: ReadonlyArray<BadRow>; readonly fatal?: string } => {
  const { records, error } = parseCsv(text)
  const [header, ...body] = records
  if (header === undefined)
    return { rows: [], bad: [], fatal: "the file is empty: expected the header id,email,displayName,team,department" }
  const index = new Map(header.fields.map((name, i) => [name.trim(), i]))
  const missing = columns.filter((c) => !index.has(c))
  if (missing.length > 0) return { rows: [], bad: [], fatal: `line ${header.line}: the header lacks ${missing.join(", ")}` }
  const rows: Array<Row> = []
  const bad: Array<BadRow> = []
  for (const r of body) {
    const get = (c: (typeof columns)[number]) => (r.fields[index.get(c)!] ?? "").trim()
    if (r.fields.length !== header.fields.length) {
      bad.push({ line: r.line, reasons: [`has ${r.fields.length} fields, the header has ${header.fields.length}`] })
      continue
    }
    const row: Row = {
      line: r.line,
      id: get("id"),
      email: get("email"),
      displayName: get("displayName"),
      team: get("team"),
      department: get("department")
    }
    const reasons: Array<string> = []
    for (const c of ["id", "email", "displayName"] as const) if (row[c] === "") reasons.push(`${c} is missing`)
    if (row.team === "" && row.department === "") reasons.push("team and department are both missing")
    if (reasons.length > 0) bad.push({ line: r.line, ...(row.id !== "" ? { id: row.id } : {}), reasons })
    else rows.push(row)
  }
  return error === undefined ? { rows, bad } : { rows, bad, fatal: error }
}

// ---------------------------------------------------------------------------------------------
// Plan
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Apply
// ---------------------------------------------------------------------------------------------

export interface Failure {
  readonly change: Change
  readonly reason: string
}

export interface ApplyOptions {
  /** How many people are onboarded at once. Default 16. */
  readonly concurrency?: number
  /** Called after each change, done or failed. */
  readonly onProgress?: (progress: {
    readonly done: number
    readonly failed: number
    readonly total: number
    readonly change: Change
  }) => void
}

export interface ApplyReport {
  readonly applied: number
  readonly failures: ReadonlyArray<Failure>
}

const reasonOf = (e: unknown): string =>
  e instanceof Error ? e.message : typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e)

/**
 * Applies a plan: departments, then teams, then people (with bounded concurrency). Each change is
 * one atomic Fleet call (a person and their tenant are created together), so an interrupted run
 * leaves whole people behind and a rerun of `plan` + `apply` picks up what is left.
 */
export const apply = (p: Pick<Plan, "changes">, options: ApplyOptions = {}): Effect.Effect<ApplyReport, never, Fleet> =>
  Effect.gen(function* () {
    const fleet = yield* Fleet
    const total = p.changes.length
    let done = 0
    const failures: Array<Failure> = []
    const create = (change: Extract<Change, { readonly action: "create" }>): Effect.Effect<unknown, FleetError> => {
      switch (change.kind) {
        case "department":
          return fleet.createDepartment(change.department)
        case "team":
          return fleet.createTeam(change.team)
        case "person":
          return fleet.onboardPerson({ person: change.person })
        case "tenant":
          return fleet.createTenant({ name: change.id, spec: { owner: change.owner } })
      }
    }
    const run = (change: Change): Effect.Effect<unknown, FleetError> => {
      switch (change.action) {
        case "create":
          return create(change)
        case "update":
          return fleet.updatePerson(change.id, change.patch)
        case "offboard":
          return fleet.offboardPerson(change.id)
      }
    }
    const step = (change: Change) =>
      run(change).pipe(
        Effect.match({
          onFailure: (e) => {
            failures.push({ change, reason: reasonOf(e) })
          },
          onSuccess: () => {}
        }),
        Effect.andThen(
          Effect.sync(() => {
            done++
            options.onProgress?.({ done, failed: failures.length, total, change })
          })
        ),
        // The memory store never suspends: yielding lets other fibers (and an interrupt) in.
        Effect.andThen(Effect.yieldNow)
      )
    const phase = (pick: (c: Change) => boolean, concurrency: number) =>
      Effect.forEach(p.changes.filter(pick), step, { concurrency, discard: true })
    yield* phase((c) => c.kind === "department", 1)
    yield* phase((c) => c.kind === "team", 1)
    yield* phase((c) => c.kind === "person" || c.kind === "tenant", options.concurrency ?? 16)
    return { applied: done - failures.length, failures }
  })

/** Plans and applies in one go; the bad rows come back beside the failures. */
export const bulkOnboard = (csv: string, options: PlanOptions & ApplyOptions = {}) =>
  Effect.gen(function* () {
    const p = yield* plan(csv, options)
    const report = yield* apply(p, options)
    return { plan: p, ...report }
  })
