import type { Person } from "@clawfleet/core"
import { Context, Layer, Schema } from "effect"

/**
 * Who may do what through the REST API. Roles follow from the person alone (their id and the
 * groups the identity provider or SCIM sends), never from state stored in clawfleet, so granting
 * administration is done where the organisation already manages groups.
 */

export const RoleName = Schema.Literals(["org-admin", "team-admin", "member"])
export type RoleName = typeof RoleName.Type

export type Role =
  | { readonly name: "org-admin" }
  /** Administers the people and tenants of these teams (never empty). */
  | { readonly name: "team-admin"; readonly teams: ReadonlyArray<string> }
  | { readonly name: "member" }

export interface RolesConfig {
  /** Org administrators, by person id or by any group they are in. Default: nobody. */
  readonly orgAdmins?: { readonly people?: ReadonlyArray<string>; readonly groups?: ReadonlyArray<string> } | undefined
  /** A group `<prefix><team>` makes its members team administrators. Default `clawfleet-team-admins-`. */
  readonly teamAdminGroupPrefix?: string | undefined
}

export const DEFAULT_TEAM_ADMIN_PREFIX = "clawfleet-team-admins-"

/**
 * What an API token may be scoped to, `resource:verb`. A token acts as its owner, narrowed to its
 * scopes: both the scope and the owner's role must allow an operation. Sessions carry no scopes
 * (a signed-in person has their role's full reach).
 */
export const Scopes = {
  peopleRead: "people:read",
  peopleWrite: "people:write",
  /** Teams and departments. */
  orgRead: "org:read",
  orgWrite: "org:write",
  tenantsRead: "tenants:read",
  tenantsWrite: "tenants:write",
  /** Pairing links (`POST /tenants/{name}/pairing`), checked by the identity routes. */
  tenantsPair: "tenants:pair",
  /** Grants, effective access and explanations. */
  grantsRead: "grants:read",
  grantsWrite: "grants:write",
  /** The catalog (models, tools, egress domains, knowledge bases, skills) and skill bundles. */
  catalogRead: "catalog:read",
  catalogWrite: "catalog:write",
  /** A tenant's metered usage and ledger. */
  usageRead: "usage:read",
  auditRead: "audit:read",
  /** The caller's own API tokens. */
  tokensRead: "tokens:read",
  tokensWrite: "tokens:write"
} as const
export type ApiScope = (typeof Scopes)[keyof typeof Scopes]
export const allScopes: ReadonlyArray<ApiScope> = Object.values(Scopes)

/** Decides a person's role. Pure and synchronous: it runs on every request. */
export class Roles extends Context.Service<
  Roles,
  {
    readonly of: (person: Person) => Role
    /** The shape `makeIdentityRoutes` and `ControlPlaneHttp` take as `isAdmin`. */
    readonly isOrgAdmin: (person: Person) => boolean
  }
>()("@clawfleet/server/Roles") {
  static make(config: RolesConfig = {}): Roles["Service"] {
    const adminPeople = new Set(config.orgAdmins?.people ?? [])
    const adminGroups = new Set(config.orgAdmins?.groups ?? [])
    const prefix = config.teamAdminGroupPrefix ?? DEFAULT_TEAM_ADMIN_PREFIX
    if (prefix === "") throw new Error("Roles: teamAdminGroupPrefix must not be empty")
    const isOrgAdmin = (person: Person) => adminPeople.has(person.id) || person.groups.some((g) => adminGroups.has(g))
    return Roles.of({
      isOrgAdmin,
      of: (person) => {
        if (person.disabled) return { name: "member" }
        if (isOrgAdmin(person)) return { name: "org-admin" }
        const teams = [
          ...new Set(person.groups.filter((g) => g.startsWith(prefix) && g.length > prefix.length).map((g) => g.slice(prefix.length)))
        ]
        return teams.length > 0 ? { name: "team-admin", teams: teams.sort() } : { name: "member" }
      }
    })
  }

  static layer(config: RolesConfig = {}): Layer.Layer<Roles> {
    return Layer.sync(Roles, () => Roles.make(config))
  }
}
