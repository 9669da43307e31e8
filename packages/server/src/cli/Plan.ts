import { type FleetFile, type FleetState, type Plan, type PlanOptions, planFleetFile } from "@clawfleet/core/fleet-file"
import { Effect } from "effect"
import type { CliFailure, UsageError } from "./Errors.ts"
import { asUsageError } from "./FleetFile.ts"
import { orFail, type Remote } from "./Remote.ts"

/** The planner is core's; the CLI reads the state it compares against over the REST API. */
export { type Change, type Plan, planJson, renderChange, renderPlan } from "@clawfleet/core/fleet-file"

/** The server's organisation, as far as a fleet file can describe it. */
export type ServerState = FleetState

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

/**
 * Reads departments, teams, people and tenants, page by page, all at once, and grants unless
 * `grants` is false: pass whether the file has a `grants` key, so a token without `grants:read`
 * can still plan a file that leaves grants alone.
 */
export const readState = (remote: Remote, options: { readonly grants: boolean }): Effect.Effect<ServerState, CliFailure> => {
  const c = remote.client
  const q = (after: string | undefined) => ({ query: { limit: pageSize, ...(after !== undefined ? { after } : {}) } })
  return Effect.all(
    {
      departments: listAll((after) => c.departments.list(q(after))).pipe(Effect.map((xs) => byId(xs, (d) => d.id))),
      teams: listAll((after) => c.teams.list(q(after))).pipe(Effect.map((xs) => byId(xs, (t) => t.id))),
      people: listAll((after) => c.people.list(q(after))).pipe(Effect.map((xs) => byId(xs, (p) => p.id))),
      tenants: listAll((after) => c.tenants.list(q(after))).pipe(Effect.map((xs) => byId(xs, (t) => t.name))),
      grants: options.grants ? listAll((after) => c.grants.list(q(after))) : Effect.succeed([])
    },
    { concurrency: 5 }
  ).pipe(orFail(remote.server))
}

/** What must change for the server to match the file; the file's problems are usage errors naming their line. */
export const diff = (file: FleetFile, state: ServerState, options: PlanOptions): Effect.Effect<Plan, UsageError> =>
  planFleetFile(file, state, options).pipe(Effect.mapError(asUsageError))
