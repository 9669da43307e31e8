import { Context, Effect } from "effect"

/** Who is acting, for the audit log. Portals set it per request; it defaults to "system". */
export interface RequestInfo {
  readonly actor: string
  readonly requestId?: string | undefined
}

export const RequestContext = Context.Reference<RequestInfo>("@clawfleet/core/RequestContext", {
  defaultValue: () => ({ actor: "system" })
})

/** Runs `self` on behalf of `actor`: every write it makes is audited under that name. */
export const withActor =
  (actor: string, requestId?: string) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.provideService(self, RequestContext, { actor, requestId })
