import { Fleet, type FleetError } from "@clawfleet/core"
import { Effect } from "effect"
import type { Change, Plan } from "./bulkOnboard.ts"

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
