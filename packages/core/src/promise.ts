import { Effect, Layer, ManagedRuntime } from "effect"
import { Audit } from "./Audit.ts"
import * as Clawfleet from "./Clawfleet.ts"
import type { Person } from "./domain/Directory.ts"
import { Fleet } from "./Fleet.ts"
import { makePairingLink, type PairingLinkRequest, type PairingLinkResult, type PairingOptions, pairingLayer } from "./promise/pairing.ts"
import { makeFindPersonByEmail } from "./promise/people.ts"
import { type StoreOption, storeLayer } from "./promise/store.ts"
import { withActor } from "./RequestContext.ts"

export type { Person } from "./domain/Directory.ts"
export type { Tenant } from "./domain/Tenant.ts"
export * from "./promise/errors.ts"
export type { PairingLinkRequest, PairingLinkResult, PairingOptions } from "./promise/pairing.ts"
export type { StoreOption } from "./promise/store.ts"

export interface ClawfleetOptions {
  /** Where records live. Default: memory. */
  readonly store?: StoreOption | undefined
  /** Who writes are audited as, unless a call goes through `withActor`. Default "system". */
  readonly actor?: string | undefined
  /** Enables `pairingLink`: the control plane whose tenant agents will redeem the links. */
  readonly pairing?: PairingOptions | undefined
}

type FleetApi = Fleet["Service"]

/** Each `Fleet` operation as an async function with the same arguments. */
export type FleetPromises = {
  readonly [K in keyof FleetApi]: FleetApi[K] extends (...args: infer A) => Effect.Effect<infer R, any, any>
    ? (...args: A) => Promise<R>
    : never
}

/** What a client can do, as whoever `withActor` names. */
export type ClawfleetCalls = FleetPromises & {
  /** The person with this e-mail address (case ignored), or undefined. `InvalidState` when several share it. */
  readonly findPersonByEmail: (email: string) => Promise<Person | undefined>
  /**
   * A fresh single-use link that opens `tenant`'s assistant in the browser of `request.person`.
   * Refused with `PairingError` `Forbidden` unless they own the tenant or `pairing.isAdmin` says
   * they administer the fleet; resumes a suspended tenant and waits for it to be Ready.
   */
  readonly pairingLink: (tenant: string, request: PairingLinkRequest) => Promise<PairingLinkResult>
}

export type ClawfleetClient = ClawfleetCalls & {
  /** The same operations, audited as done by `actor` (a portal passes its signed-in user). */
  readonly withActor: (actor: string, requestId?: string) => ClawfleetCalls
  readonly verifyAuditChain: () => Promise<Effect.Success<Audit["Service"]["verifyAuditChain"]>>
  /** Closes database connections. Calls after this reject. */
  readonly dispose: () => Promise<void>
  readonly [Symbol.asyncDispose]: () => Promise<void>
}

/**
 * Starts clawfleet for code that does not use Effect. Failures reject with a `ClawfleetError`
 * (`StoreError`, `ValidationError`, `InvalidState`, `PairingError`): `Error`s with `_tag`, a
 * `message` naming the problem and `isRetryable`; branch on them with `isNotFound`,
 * `isValidationError` and the other guards exported here. No global state: several clients can
 * live side by side.
 *
 * ```ts
 * await using fleet = await createClawfleet({ store: { postgres: process.env.DATABASE_URL! } })
 * await fleet.withActor("grace@example.com").onboardPerson({
 *   person: { id: "ada", email: "ada@example.com", displayName: "Ada" }
 * })
 * ```
 */
export const createClawfleet = async (options: ClawfleetOptions = {}): Promise<ClawfleetClient> => {
  const core: Layer.Layer<Clawfleet.Services> = Clawfleet.layer(storeLayer(options.store))
  const runtime = ManagedRuntime.make(options.pairing === undefined ? core : pairingLayer(options.pairing).pipe(Layer.provideMerge(core)))
  // Build now, so a bad database URL fails here and not on the first call.
  const { fleet, findPersonByEmail } = await runtime.runPromise(
    Effect.all({ fleet: Fleet.use(Effect.succeed), findPersonByEmail: makeFindPersonByEmail })
  )
  const extras = { findPersonByEmail, pairingLink: makePairingLink(options.pairing?.isAdmin) }

  const bind = (actor: string, requestId?: string): ClawfleetCalls =>
    Object.fromEntries(
      Object.entries({ ...fleet, ...extras }).map(([name, method]) => [
        name,
        (...args: Array<unknown>) =>
          runtime.runPromise(
            withActor(actor, requestId)((method as (...a: Array<unknown>) => Effect.Effect<unknown, unknown, any>)(...args))
          )
      ])
    ) as ClawfleetCalls

  const dispose = () => runtime.dispose()
  return {
    ...bind(options.actor ?? "system"),
    withActor: bind,
    verifyAuditChain: () => runtime.runPromise(Audit.use((a) => a.verifyAuditChain)),
    dispose,
    [Symbol.asyncDispose]: dispose
  }
}
