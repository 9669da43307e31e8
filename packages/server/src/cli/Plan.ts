import { Department, type DnsLabel, Person, type Quantity, Team, type Tenant } from "@clawfleet/core"
import { Effect } from "effect"
import { type CliFailure, UsageError } from "./Errors.ts"
import { type FleetFile, problemAt, type TenantSettings, tenantNameOf, tenantSettingsOf } from "./FleetFile.ts"
import { orFail, type Remote } from "./Remote.ts"

/** The server's organisation, as far as a fleet file can describe it. */
export interface ServerState {
  readonly departments: ReadonlyMap<string, Department>
  readonly teams: ReadonlyMap<string, Team>
  readonly people: ReadonlyMap<string, Person>
  readonly tenants: ReadonlyMap<string, Tenant>
}

export interface FieldChange {
  readonly path: string
  readonly from: unknown
  readonly to: unknown
}

type PersonPatch = {
  email?: Person["email"]
  displayName?: Person["displayName"]
  team?: DnsLabel | null
  department?: DnsLabel | null
  disabled?: boolean
}
type TenantPatch = {
  openclaw?: { version: NonNullable<NonNullable<TenantSettings["openclaw"]>["version"]> }
  resources?: { cpu?: Quantity; memory?: Quantity; storage?: Quantity }
}

export type Change =
  | { readonly action: "create"; readonly kind: "department"; readonly id: string; readonly department: Department }
  | { readonly action: "create"; readonly kind: "team"; readonly id: string; readonly team: Team }
  | {
      readonly action: "create"
      readonly kind: "person"
      readonly id: string
      readonly person: Person
      /** Created with the person (onboarding), when they get one. */
      readonly tenant: { readonly name: string; readonly settings: TenantSettings } | undefined
    }
  | {
      readonly action: "create"
      readonly kind: "tenant"
      readonly id: string
      readonly owner: string
      readonly settings: TenantSettings
      /** Created by the owner's onboarding, not by a call of its own. */
      readonly withOwner: boolean
    }
  | {
      readonly action: "update"
      readonly kind: "person"
      readonly id: string
      readonly fields: ReadonlyArray<FieldChange>
      readonly patch: PersonPatch
    }
  | {
      readonly action: "update"
      readonly kind: "tenant"
      readonly id: string
      readonly fields: ReadonlyArray<FieldChange>
      readonly patch: TenantPatch
    }
  | { readonly action: "delete"; readonly kind: "tenant" | "person"; readonly id: string; readonly note: string }

export interface Plan {
  readonly changes: ReadonlyArray<Change>
}

const pageSize = 1000

const listAll = <A, E>(
  page: (after: string | undefined) => Effect.Effect<{ readonly items: ReadonlyArray<A>; readonly next?: string | undefined }, E>
): Effect.Effect<ReadonlyArray<A>, E> =>
  Effect.gen(function* () {
    const all: Array<A> = []
    let after: string | undefined
    do {
      const result = yield* page(after)
      all.push(...result.items)
      after = result.next
    } while (after !== undefined)
    return all
  })

const byId = <A>(items: ReadonlyArray<A>, id: (a: A) => string) => new Map(items.map((a) => [id(a), a]))

/** Reads departments, teams, people and tenants, page by page, all four at once. */
export const readState = (remote: Remote): Effect.Effect<ServerState, CliFailure> => {
  const c = remote.client
  const q = (after: string | undefined) => ({ query: { limit: pageSize, ...(after !== undefined ? { after } : {}) } })
  return Effect.all(
    {
      departments: listAll((after) => c.departments.list(q(after))).pipe(Effect.map((xs) => byId(xs, (d) => d.id))),
      teams: listAll((after) => c.teams.list(q(after))).pipe(Effect.map((xs) => byId(xs, (t) => t.id))),
      people: listAll((after) => c.people.list(q(after))).pipe(Effect.map((xs) => byId(xs, (p) => p.id))),
      tenants: listAll((after) => c.tenants.list(q(after))).pipe(Effect.map((xs) => byId(xs, (t) => t.name)))
    },
    { concurrency: 4 }
  ).pipe(orFail(remote.server))
}

const same = (a: unknown, b: unknown) => (a ?? null) === (b ?? null)

/**
 * What must change for the server to match the file. Only what the file says is compared; with
 * `prune`, people and tenants the file does not mention are offboarded and deleted (departments
 * and teams have no delete in the API and are left alone). References the file makes to things
 * that exist nowhere are usage errors naming their line.
 */
export const diff = (file: FleetFile, state: ServerState, options: { readonly prune: boolean }): Effect.Effect<Plan, UsageError> =>
  Effect.gen(function* () {
    const spec = file.spec
    const changes: Array<Change> = []
    const problems: Array<string> = []
    const departments = new Set([...state.departments.keys(), ...(spec.departments ?? []).map((d) => d.id)])
    const teams = new Set([...state.teams.keys(), ...(spec.teams ?? []).map((t) => t.id)])

    for (const d of spec.departments ?? []) {
      if (!state.departments.has(d.id)) {
        changes.push({ action: "create", kind: "department", id: d.id, department: new Department(d) })
      }
    }
    ;(spec.teams ?? []).forEach((t, i) => {
      if (!departments.has(t.department)) {
        problems.push(problemAt(file, ["teams", i, "department"], `department "${t.department}" is neither in the file nor on the server`))
      }
      if (!state.teams.has(t.id)) changes.push({ action: "create", kind: "team", id: t.id, team: new Team(t) })
    })

    const personChanges: Array<Change> = []
    const tenantChanges: Array<Change> = []
    const wanted = new Set<string>()
    ;(spec.people ?? []).forEach((p, i) => {
      if (p.team !== undefined && !teams.has(p.team)) {
        problems.push(problemAt(file, ["people", i, "team"], `team "${p.team}" is neither in the file nor on the server`))
      }
      if (p.department !== undefined && !departments.has(p.department)) {
        problems.push(problemAt(file, ["people", i, "department"], `department "${p.department}" is neither in the file nor on the server`))
      }
      const tenantName = tenantNameOf(p)
      const settings = tenantSettingsOf(spec, p)
      if (tenantName !== undefined) wanted.add(tenantName)
      const current = state.people.get(p.id)
      if (current === undefined) {
        const person = new Person({
          id: p.id,
          email: p.email,
          displayName: p.displayName,
          ...(p.team !== undefined ? { team: p.team } : {}),
          ...(p.department !== undefined ? { department: p.department } : {})
        })
        const existing = tenantName !== undefined ? state.tenants.get(tenantName) : undefined
        if (existing !== undefined) {
          problems.push(problemAt(file, ["people", i, "id"], `tenant "${tenantName}" already exists and belongs to ${existing.spec.owner}`))
          return
        }
        const tenant = tenantName !== undefined ? { name: tenantName, settings } : undefined
        personChanges.push({ action: "create", kind: "person", id: p.id, person, tenant })
        if (tenant !== undefined) {
          tenantChanges.push({ action: "create", kind: "tenant", id: tenant.name, owner: p.id, settings, withOwner: true })
        }
        return
      }
      const fields: Array<FieldChange> = []
      const patch: PersonPatch = {}
      if (current.email !== p.email) {
        fields.push({ path: "email", from: current.email, to: p.email })
        patch.email = p.email
      }
      if (current.displayName !== p.displayName) {
        fields.push({ path: "displayName", from: current.displayName, to: p.displayName })
        patch.displayName = p.displayName
      }
      if (!same(current.team, p.team)) {
        fields.push({ path: "team", from: current.team, to: p.team })
        patch.team = p.team ?? null
      }
      if (!same(current.department, p.department)) {
        fields.push({ path: "department", from: current.department, to: p.department })
        patch.department = p.department ?? null
      }
      if (current.disabled) {
        fields.push({ path: "disabled", from: true, to: false })
        patch.disabled = false
      }
      if (fields.length > 0) personChanges.push({ action: "update", kind: "person", id: p.id, fields, patch })

      if (tenantName === undefined) return
      const tenant = state.tenants.get(tenantName)
      if (tenant === undefined) {
        tenantChanges.push({ action: "create", kind: "tenant", id: tenantName, owner: p.id, settings, withOwner: false })
        return
      }
      if (tenant.spec.owner !== p.id) {
        problems.push(problemAt(file, ["people", i, "tenant"], `tenant "${tenantName}" belongs to ${tenant.spec.owner}, not ${p.id}`))
        return
      }
      const tenantFields: Array<FieldChange> = []
      const tenantPatch: TenantPatch = {}
      const version = settings.openclaw?.version
      if (version !== undefined && version !== tenant.spec.openclaw.version) {
        tenantFields.push({ path: "openclaw.version", from: tenant.spec.openclaw.version, to: version })
        tenantPatch.openclaw = { version }
      }
      for (const key of ["cpu", "memory", "storage"] as const) {
        const to = settings.resources?.[key]
        if (to !== undefined && to !== tenant.spec.resources[key]) {
          tenantFields.push({ path: `resources.${key}`, from: tenant.spec.resources[key], to })
          tenantPatch.resources = { ...tenantPatch.resources, [key]: to }
        }
      }
      if (tenantFields.length > 0) {
        tenantChanges.push({ action: "update", kind: "tenant", id: tenantName, fields: tenantFields, patch: tenantPatch })
      }
    })
    if (problems.length > 0) {
      return yield* new UsageError({ message: `the fleet file does not fit the server:\n  ${problems.join("\n  ")}` })
    }
    changes.push(...personChanges, ...tenantChanges)

    if (options.prune) {
      const people = new Set((spec.people ?? []).map((p) => p.id))
      for (const t of state.tenants.values()) {
        if (!wanted.has(t.name) && t.deletionRequestedAt === undefined) {
          changes.push({ action: "delete", kind: "tenant", id: t.name, note: `owner ${t.spec.owner}` })
        }
      }
      for (const p of state.people.values()) {
        if (!people.has(p.id) && !p.disabled) changes.push({ action: "delete", kind: "person", id: p.id, note: "offboard" })
      }
    }
    return { changes }
  })

const show = (v: unknown) => (v === undefined || v === null ? "(none)" : String(v))

/** One line per change: `+ person ada (team platform)`, `~ tenant ada: openclaw.version a → b`. */
export const renderChange = (c: Change): string => {
  switch (c.action) {
    case "create":
      switch (c.kind) {
        case "department":
          return `+ department ${c.id} (${c.department.displayName})`
        case "team":
          return `+ team ${c.id} (department ${c.team.department})`
        case "person":
          return `+ person ${c.id} (${c.person.team !== undefined ? `team ${c.person.team}` : c.person.department !== undefined ? `department ${c.person.department}` : "no team"})`
        case "tenant": {
          const version = c.settings.openclaw?.version
          return `+ tenant ${c.id} (owner ${c.owner}${version !== undefined ? `, openclaw ${version}` : ""})`
        }
      }
      break
    case "update":
      return `~ ${c.kind} ${c.id}: ${c.fields.map((f) => `${f.path} ${show(f.from)} → ${show(f.to)}`).join(", ")}`
    case "delete":
      return `- ${c.kind} ${c.id} (${c.note})`
  }
}

export const summarize = (plan: Plan) => ({
  add: plan.changes.filter((c) => c.action === "create").length,
  change: plan.changes.filter((c) => c.action === "update").length,
  remove: plan.changes.filter((c) => c.action === "delete").length
})

/** The plan as text: one line per change, then a count. */
export const renderPlan = (plan: Plan): ReadonlyArray<string> => {
  if (plan.changes.length === 0) return ["No changes: the server matches the fleet file."]
  const s = summarize(plan)
  return [...plan.changes.map(renderChange), "", `Plan: ${s.add} to add, ${s.change} to change, ${s.remove} to remove.`]
}

/** The plan as data, for `--output json`. */
export const planJson = (plan: Plan) => ({
  summary: summarize(plan),
  changes: plan.changes.map((c) => ({
    action: c.action,
    kind: c.kind,
    id: c.id,
    text: renderChange(c),
    ...(c.action === "update" ? { fields: c.fields } : {})
  }))
})
