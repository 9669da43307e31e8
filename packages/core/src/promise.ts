import { Effect, type Layer, ManagedRuntime } from "effect"
import { Audit } from "./Audit.ts"
import * as Clawfleet from "./Clawfleet.ts"
import { Directory } from "./Directory.ts"
import { Fleet } from "./Fleet.ts"
import type { RequestInfo } from "./RequestContext.ts"
import { withActor } from "./RequestContext.ts"
import * as Store from "./Store.ts"
import { Tenants } from "./Tenants.ts"

export type StoreOption =
  | "memory"
  | { readonly postgres: string; readonly schema?: string; readonly maxConnections?: number }
  | { readonly pglite: { readonly dataDir?: string }; readonly schema?: string }

export interface ClawfleetOptions {
  /** Where records live. Default: memory. */
  readonly store?: StoreOption
  /** Who writes are audited as when a call does not say. Default "system". */
  readonly actor?: string
}

type FleetApi = Fleet["Service"]
type Promised<F> = F extends (...args: infer A) => Effect.Effect<infer R, any, any>
  ? (...args: [...A, options?: Partial<RequestInfo>]) => Promise<R>
  : never

/** The Fleet operations as async functions, plus reads and lifecycle. */
export type ClawfleetClient = { readonly [K in keyof FleetApi]: Promised<FleetApi[K]> } & {
  readonly getTenant: (name: string) => Promise<Awaited<ReturnType<typeof getTenant>>>
  readonly getPerson: (id: string) => Promise<Awaited<ReturnType<typeof getPerson>>>
  readonly verifyAuditChain: () => Promise<Awaited<ReturnType<typeof verifyAudit>>>
  /** Closes database connections. Calls after this reject. */
  readonly dispose: () => Promise<void>
  readonly [Symbol.asyncDispose]: () => Promise<void>
}

type Runtime = ManagedRuntime.ManagedRuntime<Clawfleet.Services, never>

const getTenant = (run: Runtime, name: string) => run.runPromise(Tenants.use((t) => Effect.map(t.get(name), (v) => v.value)))
const getPerson = (run: Runtime, id: string) => run.runPromise(Directory.use((d) => Effect.map(d.people.get(id), (v) => v.value)))
const verifyAudit = (run: Runtime) => run.runPromise(Audit.use((a) => a.verifyAuditChain))

const storeLayer = (store: StoreOption | undefined): Layer.Layer<Store.Services> => {
  if (store === undefined || store === "memory") return Store.layerMemory
  if ("postgres" in store) return Store.layerPg({ url: store.postgres, schema: store.schema, maxConnections: store.maxConnections })
  return Store.layerPglite({ dataDir: store.pglite.dataDir, schema: store.schema })
}

const fleetMethods = [
  "createDepartment",
  "createTeam",
  "onboardPerson",
  "offboardPerson",
  "createTenant",
  "updateTenant",
  "suspendTenant",
  "resumeTenant",
  "deleteTenant",
  "grant",
  "revoke",
  "check",
  "explain",
  "effectiveAccess"
] as const satisfies ReadonlyArray<keyof FleetApi>

/**
 * Starts clawfleet for code that does not use Effect. Failures reject with the same typed errors
 * (`StoreError`, `ValidationError`), which are `Error`s with `_tag`, `message` and `isRetryable`.
 *
 * ```ts
 * await using fleet = await createClawfleet({ store: { postgres: process.env.DATABASE_URL! } })
 * await fleet.onboardPerson({ person: { id: "ada", email: "ada@example.com", displayName: "Ada" } })
 * ```
 */
export const createClawfleet = async (options: ClawfleetOptions = {}): Promise<ClawfleetClient> => {
  const runtime = ManagedRuntime.make(Clawfleet.layer(storeLayer(options.store)))
  // Build now, so a bad database URL fails here and not on the first call.
  await runtime.runPromise(Effect.void)
  const defaultActor = options.actor ?? "system"

  const call =
    (name: (typeof fleetMethods)[number], arity: number) =>
    (...args: Array<unknown>) => {
      const info = (args.length > arity ? args[arity] : undefined) as Partial<RequestInfo> | undefined
      const effect = Fleet.use((fleet) =>
        (fleet[name] as (...a: Array<unknown>) => Effect.Effect<unknown, unknown>)(...args.slice(0, arity))
      )
      return runtime.runPromise(withActor(info?.actor ?? defaultActor, info?.requestId)(effect))
    }

  const arities: Record<(typeof fleetMethods)[number], number> = {
    createDepartment: 1,
    createTeam: 1,
    onboardPerson: 1,
    offboardPerson: 1,
    createTenant: 1,
    updateTenant: 3,
    suspendTenant: 1,
    resumeTenant: 1,
    deleteTenant: 1,
    grant: 1,
    revoke: 1,
    check: 2,
    explain: 2,
    effectiveAccess: 1
  }
  const methods = Object.fromEntries(fleetMethods.map((m) => [m, call(m, arities[m])]))
  const dispose = () => runtime.dispose()
  return {
    ...(methods as unknown as { readonly [K in keyof FleetApi]: Promised<FleetApi[K]> }),
    getTenant: (name) => getTenant(runtime, name),
    getPerson: (id) => getPerson(runtime, id),
    verifyAuditChain: () => verifyAudit(runtime),
    dispose,
    [Symbol.asyncDispose]: dispose
  }
}
