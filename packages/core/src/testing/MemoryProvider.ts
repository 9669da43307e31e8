import { Context, Duration, Effect, Layer } from "effect"
import { jsonClone } from "../internal/json.ts"
import { makeProvider } from "../provider/makeProvider.ts"
import { ProviderError, type ProviderErrorReason } from "../provider/ProviderError.ts"
import { type ManagedResource, RuntimeProvider } from "../provider/RuntimeProvider.ts"

export interface Calls {
  readonly list: number
  readonly put: number
  readonly remove: number
}

/**
 * The memory provider's world, and the levers tests pull on it: failures, latency, and drift
 * made behind the reconciler's back.
 */
export class MemoryWorld extends Context.Service<
  MemoryWorld,
  {
    /** Every resource of one tenant, or of all. */
    readonly resources: (tenant?: string) => ReadonlyArray<ManagedResource & { readonly tenant: string }>
    readonly calls: () => Calls
    /** The next `count` provider calls fail with `reason` (default Unavailable, which is retryable). */
    readonly failNext: (count?: number, reason?: ProviderErrorReason) => void
    /**
     * Every `n`-th list answers with what the previous list of that tenant saw, as a lagging
     * cache or watch would, until set to 0.
     */
    readonly staleEvery: (n: number) => void
    /** Every `n`-th call fails, until set to 0. */
    readonly failEvery: (n: number, reason?: ProviderErrorReason) => void
    readonly setLatency: (latency: Duration.Input) => void
    /**
     * Called after each successful write with the number of writes so far. Returning true crashes
     * the caller right there: its fiber is interrupted after the write, before anything else.
     */
    readonly onWrite: (hook: ((writes: number) => boolean | undefined) | undefined) => void
    /** Drift: deletes a resource as an operator or a node failure might. */
    readonly drop: (tenant: string, kind: string, name: string) => void
    /** Drift: rewrites a resource's spec behind the reconciler's back. */
    readonly alter: (tenant: string, kind: string, name: string, spec: unknown) => void
  }
>()("@clawfleet/core/testing/MemoryWorld") {}

const NAME = "memory"

/**
 * A complete provider that keeps its world in memory: a directory, a token identity, an egress
 * policy, the rendered config and a gateway process per tenant. It declares what it is honestly:
 * directory storage, token identity, advisory network. Built with `makeProvider`, like a real one.
 */
export const layer = (options: { readonly latency?: Duration.Input } = {}): Layer.Layer<RuntimeProvider | MemoryWorld> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const world = new Map<string, Map<string, ManagedResource>>()
      const calls = { list: 0, put: 0, remove: 0 }
      let writes = 0
      let failures = 0
      let failureReason: ProviderErrorReason = "Unavailable"
      let every = 0
      let everyReason: ProviderErrorReason = "Unavailable"
      let latency = Duration.fromInputUnsafe(options.latency ?? 0)
      let hook: ((writes: number) => boolean | undefined) | undefined
      let staleEvery = 0
      let lists = 0
      const lastListed = new Map<string, ReadonlyArray<ManagedResource>>()

      const of = (tenant: string) => {
        let m = world.get(tenant)
        if (!m) world.set(tenant, (m = new Map()))
        return m
      }
      // Runs one provider call after the configured latency, unless a failure is due.
      const attempt = <A>(op: keyof Calls, f: () => A): Effect.Effect<A, ProviderError> =>
        Effect.suspend(() => {
          calls[op]++
          const n = calls.list + calls.put + calls.remove
          if (failures > 0) {
            failures--
            return Effect.fail(new ProviderError({ reason: failureReason, provider: NAME, detail: `injected failure of ${op}` }))
          }
          if (every > 0 && n % every === 0) {
            return Effect.fail(new ProviderError({ reason: everyReason, provider: NAME, detail: `injected failure of call ${n}` }))
          }
          return Effect.sync(f)
        })
      const call = <A>(op: keyof Calls, f: () => A): Effect.Effect<A, ProviderError> =>
        Duration.toMillis(latency) > 0 ? Effect.andThen(Effect.sleep(latency), attempt(op, f)) : attempt(op, f)
      // True when the test asked to crash the writer right after this write.
      const wrote = () => {
        writes++
        return hook?.(writes) === true
      }

      const provider = makeProvider({
        describe: {
          name: NAME,
          capabilities: {
            storage: "directory",
            identity: "token",
            network: "advisory",
            features: { suspend: true, idleWake: false, quota: false }
          }
        },
        kinds: { storage: "directory", identity: "token", network: "egress-policy", workload: "process" },
        desired: (rt) => [
          { kind: "directory", name: `tenant-${rt.tenant}`, role: "data", spec: { path: `/memory/${rt.tenant}` } },
          { kind: "token", name: `identity-${rt.tenant}`, role: "config", spec: { subject: `tenant:${rt.tenant}` } },
          { kind: "egress-policy", name: `egress-${rt.tenant}`, role: "config", spec: { allow: rt.access.egress } },
          {
            kind: "config",
            name: `openclaw-${rt.tenant}`,
            role: "config",
            spec: { version: rt.openclaw.version, config: rt.openclaw.config, secrets: rt.secrets.map((s) => s.env) }
          },
          {
            kind: "process",
            name: `gateway-${rt.tenant}`,
            role: "workload",
            spec: { image: rt.openclaw.image ?? `openclaw@${rt.openclaw.version}`, resources: rt.spec.resources }
          }
        ],
        list: (tenant) =>
          call("list", () => {
            const now = [...of(tenant).values()]
            const previous = lastListed.get(tenant)
            lastListed.set(tenant, now)
            return staleEvery > 0 && ++lists % staleEvery === 0 && previous !== undefined ? previous : now
          }),
        put: (tenant, r) =>
          Effect.flatMap(
            call("put", () => {
              of(tenant).set(`${r.kind}/${r.name}`, { kind: r.kind, name: r.name, role: r.role, spec: jsonClone(r.spec) })
              return wrote()
            }),
            (crash) => (crash ? Effect.interrupt : Effect.void)
          ),
        remove: (tenant, r) =>
          Effect.flatMap(
            call("remove", () => of(tenant).delete(`${r.kind}/${r.name}`) && wrote()),
            (crash) => (crash ? Effect.interrupt : Effect.void)
          )
      })

      const control = MemoryWorld.of({
        resources: (tenant) =>
          [...world.entries()]
            .filter(([t]) => tenant === undefined || t === tenant)
            .flatMap(([t, m]) => [...m.values()].map((r) => ({ ...r, tenant: t }))),
        calls: () => ({ ...calls }),
        failNext: (count = 1, reason = "Unavailable") => {
          failures = count
          failureReason = reason
        },
        staleEvery: (n) => {
          staleEvery = n
        },
        failEvery: (n, reason = "Unavailable") => {
          every = n
          everyReason = reason
        },
        setLatency: (l) => {
          latency = Duration.fromInputUnsafe(l)
        },
        onWrite: (h) => {
          hook = h
        },
        drop: (tenant, kind, name) => void of(tenant).delete(`${kind}/${name}`),
        alter: (tenant, kind, name, spec) => {
          const r = of(tenant).get(`${kind}/${name}`)
          if (r) of(tenant).set(`${kind}/${name}`, { ...r, spec })
        }
      })
      return Context.make(RuntimeProvider, provider).pipe(Context.add(MemoryWorld, control))
    })
  )
