import { assert } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import type { ProviderError } from "../provider/ProviderError.ts"
import { type Observation, RuntimeProvider } from "../provider/RuntimeProvider.ts"

const CAPABILITIES = ["storage", "identity", "network", "workload"] as const
const CAMEL_CASE = /^[A-Z][A-Za-z0-9]*$/

/** What a provider that cannot observe readiness reports for a tenant; it must not move by itself. */
export interface Report {
  readonly readiness: Readonly<Record<(typeof CAPABILITIES)[number], { readonly ready: boolean; readonly reason: string }>>
  readonly resources: ReadonlyArray<string>
}

type Check<A> = Effect.Effect<A, ProviderError, RuntimeProvider>

/**
 * How the scenarios learn what became of a tenant after they act on it. A provider that sees its
 * runtime is polled until Ready; one opted out of readiness is held to an honest, stable not-ready
 * report instead, which whatever restores a tenant must bring back unchanged.
 */
export interface ReadinessProbe {
  /** Right after an apply: the tenant is up. */
  readonly up: (tenant: string) => Check<Observation>
  /** Before disturbing a tenant: what `back`, `asleep` and `kept` may compare with. */
  readonly mark: (tenant: string) => Check<Report>
  /** After a repair, a resume or a neighbour's destroy: the tenant is as it was. */
  readonly back: (tenant: string, mark: Report) => Check<void>
  /** After suspend: the workload stopped, storage and identity kept. */
  readonly asleep: (tenant: string, mark: Report) => Check<void>
  /** After a destroy that keeps data: storage kept, identity and workload gone. */
  readonly kept: (tenant: string, mark: Report) => Check<void>
}

const observe = (tenant: string) => RuntimeProvider.use((p) => p.observe(tenant))

const reportOf = (o: Observation): Report => ({
  readiness: Object.fromEntries(CAPABILITIES.map((cap) => [cap, { ready: o[cap].ready, reason: o[cap].reason }])) as Report["readiness"],
  resources: o.resources.map((r) => `${r.kind}/${r.name}`).sort()
})

/** Polls `observe` every 50 ms until the capabilities come up, failing after `withinMs`. */
export const polledReadiness = (withinMs: number): ReadinessProbe => {
  const until = (tenant: string, check: (o: Observation) => boolean, what: string) =>
    observe(tenant).pipe(
      Effect.repeat({ until: check, schedule: Schedule.spaced("50 millis") }),
      Effect.timeoutOrElse({
        duration: withinMs,
        orElse: () => Effect.die(new Error(`tenant ${tenant}: ${what} not reached within ${withinMs} ms`))
      })
    )
  return {
    up: (tenant) => until(tenant, (o) => CAPABILITIES.every((cap) => o[cap].ready), "all capabilities ready"),
    // Not waited on: readiness itself, polled later, says whether the tenant came back.
    mark: (tenant) => Effect.map(observe(tenant), reportOf),
    back: (tenant) => Effect.asVoid(until(tenant, (o) => o.workload.ready, "workload ready again")),
    asleep: (tenant) =>
      Effect.map(
        until(tenant, (o) => !o.workload.ready, "workload stopped"),
        (o) => assert.isTrue(o.storage.ready && o.identity.ready, "storage and identity kept")
      ),
    kept: (tenant) =>
      Effect.map(observe(tenant), (left) => {
        assert.isTrue(left.storage.ready, "storage kept")
        assert.isFalse(left.workload.ready)
        assert.isFalse(left.identity.ready, "identity removed")
      })
  }
}

/**
 * For a provider that cannot see whether its runtime runs (`readiness: { skip }`). Ready is never
 * waited for, but the opt-out hides nothing else: a tenant must exist, every capability must
 * report NotReady with a CamelCase reason (claiming Ready would make the opt-out a lie), and two
 * observations with nothing done in between must agree.
 */
export const unobservedReadiness = (why: string): ReadinessProbe => {
  const honest = (tenant: string) =>
    Effect.gen(function* () {
      const seen = yield* observe(tenant)
      assert.isTrue(seen.exists, `tenant ${tenant} exists`)
      assert.isNotEmpty(seen.resources, `tenant ${tenant} has resources`)
      for (const cap of CAPABILITIES) {
        const { ready, reason, message } = seen[cap]
        assert.isFalse(ready, `${cap} claims Ready although readiness is opted out (${why}); drop the opt-out`)
        assert.match(reason, CAMEL_CASE, `${cap} reason`)
        assert.isNotEmpty(message, `${cap} message`)
      }
      assert.deepStrictEqual(reportOf(yield* observe(tenant)), reportOf(seen), "a second observation reports the same")
      return seen
    })
  return {
    up: honest,
    mark: (tenant) => Effect.map(honest(tenant), reportOf),
    back: (tenant, mark) => Effect.map(honest(tenant), (now) => assert.deepStrictEqual(reportOf(now), mark, "reported as before")),
    asleep: (tenant, mark) =>
      Effect.map(honest(tenant), (now) => {
        const { storage, identity } = reportOf(now).readiness
        assert.deepStrictEqual(
          { storage, identity },
          { storage: mark.readiness.storage, identity: mark.readiness.identity },
          "storage and identity kept"
        )
      }),
    kept: (tenant, mark) =>
      Effect.map(honest(tenant), (left) => {
        const now = reportOf(left)
        assert.deepStrictEqual(now.readiness.storage, mark.readiness.storage, "storage kept")
        assert.isTrue(
          now.resources.every((r) => mark.resources.includes(r)) && now.resources.length < mark.resources.length,
          "only some of the tenant's resources stay"
        )
      })
  }
}
