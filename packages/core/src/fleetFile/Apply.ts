import { Effect, Schema } from "effect"
import { Directory } from "../Directory.ts"
import { Department, Person, Team } from "../domain/Directory.ts"
import type { Grant } from "../domain/Grant.ts"
import { Fleet, type FleetError } from "../Fleet.ts"
import { Tenants } from "../Tenants.ts"
import { type Change, type FleetState, type Plan, phaseOf, phases } from "./Change.ts"
import type { FleetFile, FleetFileError } from "./Parse.ts"
import { type PlanOptions, planFleetFile } from "./Plan.ts"
import { renderChange } from "./Render.ts"
import type { FleetSpec } from "./Spec.ts"

const byKey = <A>(items: ReadonlyArray<{ readonly value: A }>, key: (a: A) => string) => new Map(items.map((v) => [key(v.value), v.value]))

/** The store's organisation as a fleet file describes it; grants only when `grants` is true. */
export const readFleetState = (options: { readonly grants: boolean }): Effect.Effect<FleetState, FleetError, Fleet | Directory | Tenants> =>
  Effect.gen(function* () {
    const fleet = yield* Fleet
    const directory = yield* Directory
    const tenants = yield* Tenants
    const allGrants = Effect.gen(function* () {
      const all: Array<Grant> = []
      let cursor: string | undefined
      do {
        const page = yield* fleet.listGrants({ limit: 1000, cursor })
        all.push(...page.items.map((v) => v.value))
        cursor = page.next
      } while (cursor !== undefined)
      return all
    })
    return yield* Effect.all(
      {
        departments: Effect.map(directory.departments.all, (xs) => byKey(xs, (d) => d.id)),
        teams: Effect.map(directory.teams.all, (xs) => byKey(xs, (t) => t.id)),
        people: Effect.map(directory.people.all, (xs) => byKey(xs, (p) => p.id)),
        tenants: Effect.map(tenants.all, (xs) => byKey(xs, (t) => t.name)),
        grants: options.grants ? allGrants : Effect.succeed([])
      },
      { concurrency: 5 }
    )
  })

type FleetApi = Fleet["Service"]

/** The `Fleet` call that carries out a change; none for a tenant its owner's onboarding creates. */
const operationOf = (fleet: FleetApi, c: Change): Effect.Effect<unknown, FleetError> | undefined => {
  switch (c.action) {
    case "create":
      switch (c.kind) {
        case "department":
          return fleet.createDepartment(Schema.encodeSync(Department)(c.department))
        case "team":
          return fleet.createTeam(Schema.encodeSync(Team)(c.team))
        case "person":
          return fleet.onboardPerson({
            person: Schema.encodeSync(Person)(c.person),
            tenant: c.tenant === undefined ? false : { name: c.tenant.name, ...c.tenant.settings }
          })
        case "tenant":
          return c.withOwner ? undefined : fleet.createTenant({ name: c.id, spec: { owner: c.owner, ...c.settings } })
        case "grant":
          return fleet.grant(c.grant)
      }
      break
    case "update":
      return c.kind === "person" ? fleet.updatePerson(c.id, c.patch) : fleet.updateTenant(c.id, c.patch)
    case "delete":
      return c.kind === "grant" ? fleet.revoke(c.grantId) : c.kind === "tenant" ? fleet.deleteTenant(c.id) : fleet.offboardPerson(c.id)
  }
}

export interface ApplyResult {
  /** Plan lines carried out. */
  readonly applied: number
  /** One line per change that failed: the change and why. */
  readonly failed: ReadonlyArray<string>
}

/**
 * Carries out a plan with `Fleet`, phase by phase (departments, teams, people and tenants,
 * grants, removals), `concurrency` calls at a time within a phase. A failed change is reported
 * and the rest still go through; re-planning afterwards shows what is left.
 */
export const applyFleetPlan = (
  plan: Plan,
  options: { readonly concurrency?: number | undefined } = {}
): Effect.Effect<ApplyResult, never, Fleet> =>
  Effect.gen(function* () {
    const fleet = yield* Fleet
    let applied = 0
    const failed: Array<string> = []
    for (const phase of phases) {
      yield* Effect.forEach(
        plan.changes.filter((c) => phaseOf(c) === phase),
        (c) => {
          const run = operationOf(fleet, c)
          // An onboarding carries out its person's line and their tenant's.
          const weight = c.action === "create" && c.kind === "person" && c.tenant !== undefined ? 2 : 1
          if (run === undefined) return Effect.void
          return Effect.matchEffect(run, {
            onFailure: (e) => Effect.sync(() => failed.push(`${renderChange(c)}: ${e.message}`)),
            onSuccess: () => Effect.sync(() => (applied += weight))
          })
        },
        { concurrency: options.concurrency ?? 4, discard: true }
      )
    }
    return { applied, failed }
  })

/**
 * Makes the store match a fleet file with `Fleet`, no server needed: reads the state, plans
 * (failing with every problem of the file, nothing written) and, unless `dryRun`, applies.
 */
export const applyFleetFile = Effect.fn("FleetFile.apply")(function* (
  file: FleetFile | FleetSpec,
  options: PlanOptions & { readonly dryRun?: boolean | undefined; readonly concurrency?: number | undefined } = {}
): Effect.fn.Return<{ readonly plan: Plan } & ApplyResult, FleetFileError | FleetError, Fleet | Directory | Tenants> {
  const spec = "locate" in file ? file.spec : file
  const state = yield* readFleetState({ grants: spec.grants !== undefined })
  const plan = yield* planFleetFile(file, state, options)
  if (options.dryRun === true || plan.changes.length === 0) return { plan, applied: 0, failed: [] }
  return { plan, ...(yield* applyFleetPlan(plan, options)) }
})
