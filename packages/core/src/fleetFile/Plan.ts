import { Effect } from "effect"
import { Department, Person, Team } from "../domain/Directory.ts"
import type { Change, FieldChange, FleetState, PersonPatch, Plan, TenantPatch } from "./Change.ts"
import { type FleetFile, FleetFileError, fromSpec, problemAt } from "./Parse.ts"
import { planGrants } from "./PlanGrants.ts"
import { type FleetSpec, tenantNameOf, tenantSettingsOf } from "./Spec.ts"

export interface PlanOptions {
  /** Also offboard people and delete tenants the file does not list. */
  readonly prune?: boolean | undefined
}

const same = (a: unknown, b: unknown) => (a ?? null) === (b ?? null)

/**
 * What must change for `state` to match the file. Pure. Only what the file says is compared;
 * with `prune`, people and tenants the file does not mention are offboarded and deleted
 * (departments and teams are left alone). With a `grants` key, grants the file does not list are
 * removed; without one, grants are left alone. References the file makes to things that exist
 * nowhere fail the plan, naming their line.
 */
export const planFleetFile = (
  input: FleetFile | FleetSpec,
  state: FleetState,
  options: PlanOptions = {}
): Effect.Effect<Plan, FleetFileError> =>
  Effect.gen(function* () {
    const file = "locate" in input ? input : fromSpec(input)
    const spec = file.spec
    const changes: Array<Change> = []
    const problems: Array<string> = []
    const departments = new Set([...state.departments.keys(), ...(spec.departments ?? []).map((d) => d.id)])
    const teams = new Set([...state.teams.keys(), ...(spec.teams ?? []).map((t) => t.id)])
    const people = new Set([...state.people.keys(), ...(spec.people ?? []).map((p) => p.id)])

    for (const d of spec.departments ?? []) {
      if (!state.departments.has(d.id)) changes.push({ action: "create", kind: "department", id: d.id, department: new Department(d) })
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
    const grants = planGrants(file, state, { departments, teams, people })
    problems.push(...grants.problems)
    if (problems.length > 0) return yield* new FleetFileError({ summary: "the fleet file does not fit the server", problems })
    changes.push(...personChanges, ...tenantChanges, ...grants.changes)

    if (options.prune) {
      const listed = new Set((spec.people ?? []).map((p) => p.id))
      for (const t of state.tenants.values()) {
        if (!wanted.has(t.name) && t.deletionRequestedAt === undefined) {
          changes.push({ action: "delete", kind: "tenant", id: t.name, note: `owner ${t.spec.owner}` })
        }
      }
      for (const p of state.people.values()) {
        if (!listed.has(p.id) && !p.disabled) changes.push({ action: "delete", kind: "person", id: p.id, note: "offboard" })
      }
    }
    return { changes }
  })
