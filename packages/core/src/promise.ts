import { Effect, type Layer, ManagedRuntime } from "effect"
import { Audit } from "./Audit.ts"
import * as Clawfleet from "./Clawfleet.ts"
import { Fleet } from "./Fleet.ts"
import { withActor } from "./RequestContext.ts"
import * as Store from "./Store.ts"

export type StoreOption =
  | "memory"
  | { readonly postgres: string; readonly schema?: string; readonly maxConnections?: number }
  | { readonly pglite: { readonly dataDir?: string }; readonly schema?: string }

export interface ClawfleetOptions {
  /** Where records live. Default: memory. */
  readonly store?: StoreOption
  /** Who writes are audited as, unless a call goes through `withActor`. Default "system". */
  readonly actor?: string
}

type FleetApi = Fleet["Service"]

/** Each `Fleet` operation as an async function with the same arguments. */
export type FleetPromises = {
  readonly [K in keyof FleetApi]: FleetApi[K] extends (...args: infer A) => Effect.Effect<infer R, any, any>
    ? (...args: A) => Promise<R>
    : never
}

export type ClawfleetClient = FleetPromises & {
  /** The same operations, audited as done by `actor` (a portal passes its signed-in user). */
  readonly withActor: (actor: string, requestId?: string) => FleetPromises
  readonly verifyAuditChain: () => Promise<Effect.Success<Audit["Service"]["verifyAuditChain"]>>
  /** Closes database connections. Calls after this reject. */
  readonly dispose: () => Promise<void>
  readonly [Symbol.asyncDispose]: () => Promise<void>
}

const storeLayer = (store: StoreOption | undefined): Layer.Layer<Store.Services> => {
  if (store === undefined || store === "memory") return Store.layerMemory
  if ("postgres" in store) return Store.layerPg({ url: store.postgres, schema: store.schema, maxConnections: store.maxConnections })
  return Store.layerPglite({ dataDir: store.pglite.dataDir, schema: store.schema })
}

/**
 * Starts clawfleet for code that does not use Effect. Failures reject with the same typed errors
 * (`StoreError`, `ValidationError`, `InvalidState`): `Error`s with `_tag`, `message` and
 * `isRetryable`. No global state: several clients can live side by side.
 *
 * ```ts
 * await using fleet = await createClawfleet({ store: { postgres: process.env.DATABASE_URL! } })
 * await fleet.withActor("grace@example.com").onboardPerson({
 *   person: { id: "ada", email: "ada@example.com", displayName: "Ada" }
 * })
 * ```
 */
export const createClawfleet = async (options: ClawfleetOptions = {}): Promise<ClawfleetClient> => {
  const runtime = ManagedRuntime.make(Clawfleet.layer(storeLayer(options.store)))
  // Build now, so a bad database URL fails here and not on the first call.
  const fleet = await runtime.runPromise(Fleet.use(Effect.succeed))

  const bind = (actor: string, requestId?: string): FleetPromises =>
    Object.fromEntries(
      Object.entries(fleet).map(([name, method]) => [
        name,
        (...args: Array<unknown>) =>
          runtime.runPromise(withActor(actor, requestId)((method as (...a: Array<unknown>) => Effect.Effect<unknown, unknown>)(...args)))
      ])
    ) as FleetPromises

  const dispose = () => runtime.dispose()
  return {
    ...bind(options.actor ?? "system"),
    withActor: bind,
    verifyAuditChain: () => runtime.runPromise(Audit.use((a) => a.verifyAuditChain)),
    dispose,
    [Symbol.asyncDispose]: dispose
  }
}
