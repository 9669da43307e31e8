import { Directory, type Person, type Tenant, Tenants } from "@clawfleet/core"
import { Context, Effect, Layer } from "effect"
import { Forbidden, storeUnavailable, type Unavailable } from "./Problems.ts"
import type { Caller } from "./Security.ts"

/**
 * How far a caller reaches once the operation's policy let them in. An org administrator reaches
 * everything. A team administrator reaches the people in their teams and those people's tenants.
 * Everyone reaches their own person (to read) and their own tenants (to read, suspend, resume).
 * A record the caller cannot reach answers 403 whether or not it exists, so ids cannot be probed;
 * only an org administrator learns that something is missing (404).
 */

/** `read`: look at it. `operate`: what an owner may do (suspend, resume). `manage`: change or delete it. */
export type Mode = "read" | "operate" | "manage"

type Denied = Forbidden | Unavailable

export const teamsOf = (caller: Caller): ReadonlyArray<string> => (caller.role.name === "team-admin" ? caller.role.teams : [])

const inTeams = (caller: Caller, team: string | undefined) => team !== undefined && teamsOf(caller).includes(team)

export class Access extends Context.Service<
  Access,
  {
    readonly person: (caller: Caller, id: string, mode: Exclude<Mode, "operate">) => Effect.Effect<void, Denied>
    readonly tenant: (caller: Caller, name: string, mode: Mode) => Effect.Effect<void, Denied>
    /** May the caller put a person in `team` (onboarding, moving)? */
    readonly team: (caller: Caller, team: string | undefined) => Effect.Effect<void, Forbidden>
    /** May the caller act on the tenants of `owner` (create one, list them)? */
    readonly owner: (caller: Caller, owner: string) => Effect.Effect<void, Denied>
    /** The teams a list may show: undefined for everything (org administrators). */
    readonly visibleTeams: (caller: Caller) => ReadonlyArray<string> | undefined
  }
>()("@clawfleet/server/api/Access") {
  static readonly layer: Layer.Layer<Access, never, Directory | Tenants> = Layer.effect(
    Access,
    Effect.gen(function* () {
      const directory = yield* Directory
      const tenants = yield* Tenants

      const findPerson = (id: string): Effect.Effect<Person | undefined, Unavailable> =>
        Effect.map(directory.people.find(id), (v) => v?.value).pipe(Effect.catchTag("StoreError", storeUnavailable))
      const findTenant = (name: string): Effect.Effect<Tenant | undefined, Unavailable> =>
        Effect.map(tenants.find(name), (v) => v?.value).pipe(Effect.catchTag("StoreError", storeUnavailable))

      const denied = (what: string) => Effect.fail(new Forbidden({ detail: `you may not ${what}` }))

      const owner = Effect.fnUntraced(function* (caller: Caller, id: string) {
        if (caller.role.name === "org-admin") return
        if (caller.role.name === "team-admin" && inTeams(caller, (yield* findPerson(id))?.team)) return
        return yield* denied(`act on the tenants of "${id}"`)
      })

      return Access.of({
        person: Effect.fnUntraced(function* (caller, id, mode) {
          if (caller.role.name === "org-admin") return
          if (mode === "read" && id === caller.person.id) return
          if (caller.role.name === "team-admin" && inTeams(caller, (yield* findPerson(id))?.team)) return
          return yield* denied(`${mode} the person "${id}"`)
        }),
        tenant: Effect.fnUntraced(function* (caller, name, mode) {
          if (caller.role.name === "org-admin") return
          const tenant = yield* findTenant(name)
          if (tenant !== undefined && mode !== "manage" && tenant.spec.owner === caller.person.id) return
          if (tenant !== undefined && caller.role.name === "team-admin") {
            const ownerTeam = tenant.spec.owner === caller.person.id ? caller.person.team : (yield* findPerson(tenant.spec.owner))?.team
            if (inTeams(caller, ownerTeam)) return
          }
          return yield* denied(`${mode} the tenant "${name}"`)
        }),
        team: (caller, team) =>
          caller.role.name === "org-admin" || inTeams(caller, team)
            ? Effect.void
            : Effect.fail(
                new Forbidden({
                  detail: team === undefined ? "you may only place people in your teams" : `you do not administer the team "${team}"`
                })
              ),
        owner,
        visibleTeams: (caller) => (caller.role.name === "org-admin" ? undefined : teamsOf(caller))
      })
    })
  )
}
