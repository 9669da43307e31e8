import { ApiTokens, Directory, Fleet, RecordStore, Sessions, Tenants, Tokens } from "@clawfleet/core"
import { Context, Effect, Layer } from "effect"
import { makeGroupOps } from "./GroupOps.ts"
import { defaultTeamOfGroup } from "./groups.ts"
import { makeUserOps } from "./UserOps.ts"

export type { ListQuery, ScimResource } from "./internal.ts"

export interface ScimOptions {
  /** Where identity providers reach the control plane, e.g. `https://clawfleet.example.com`. */
  readonly publicUrl: string
  /**
   * The team a group's members belong to, by the group's displayName; undefined for a group that
   * is not a team. Default: `team:<id>` is team `<id>`. The team must exist.
   */
  readonly teamOfGroup?: ((displayName: string) => string | undefined) | undefined
  /**
   * The department id for the enterprise extension's `department`; undefined leaves the person's
   * as it is. Default: the department whose id or display name it is (ignoring case).
   */
  readonly departmentOf?: ((value: string) => string | undefined) | undefined
  /** `create` (default): a joiner gets their assistant at once. `none`: an operator creates it. */
  readonly tenantPolicy?: "create" | "none" | undefined
}

/** What provisioning writes through: the fleet, and what ends a leaver's sessions and tokens. */
export type ScimServices = Fleet | Directory | Tenants | RecordStore | Sessions | Tokens | ApiTokens

/**
 * The SCIM operations over the core's services, each one a transaction audited under the actor of
 * the `RequestContext` (the HTTP handler makes it `scim:<token's person>`). Every failure is a
 * `ScimError` with the status and `scimType` to answer with.
 */
export const makeScim = (options: ScimOptions) =>
  Effect.gen(function* () {
    const deps = {
      fleet: yield* Fleet,
      directory: yield* Directory,
      tenants: yield* Tenants,
      store: yield* RecordStore,
      sessions: yield* Sessions,
      tokens: yield* Tokens,
      apiTokens: yield* ApiTokens,
      base: `${options.publicUrl.replace(/\/+$/, "")}/scim/v2`,
      teamOf: options.teamOfGroup ?? defaultTeamOfGroup,
      departmentOf: options.departmentOf,
      tenantPolicy: options.tenantPolicy ?? "create"
    }
    return { base: deps.base, ...makeUserOps(deps), ...makeGroupOps(deps) }
  })

/** SCIM 2.0 provisioning (RFC 7643/7644) as a service, for callers that bring their own transport. */
export class Scim extends Context.Service<Scim, Effect.Success<ReturnType<typeof makeScim>>>()("@clawfleet/server/Scim") {
  static layer(options: ScimOptions): Layer.Layer<Scim, never, ScimServices> {
    return Layer.effect(Scim, makeScim(options))
  }
}
