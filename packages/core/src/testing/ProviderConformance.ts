import { assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { RuntimeProvider } from "../provider/RuntimeProvider.ts"
import { polledReadiness, unobservedReadiness } from "./readinessProbe.ts"
import { testRuntime } from "./runtimeFixture.ts"

export type ProviderScenario = "drift" | "suspend" | "retainData"

export interface ProviderConformanceOptions<R> {
  /**
   * Damages the tenant's resources behind the provider's back (delete or alter one), so the suite
   * can check that the next apply repairs it.
   */
  readonly drift: ((tenant: string) => Effect.Effect<void, unknown, R | RuntimeProvider>) | { readonly skip: string }
  /**
   * How long a tenant may take to become ready after an apply (a real cluster starts pods and
   * binds volumes in the background). Default 60 s; readiness is polled every 50 ms.
   */
  readonly readyWithinMs?: number
  /**
   * Only for a provider that cannot observe its runtime at all (one that writes files a GitOps
   * controller applies, say): `{ skip: "why" }`. Ready is then never waited for; instead every
   * capability must honestly report NotReady with a stable CamelCase reason, and each scenario
   * checks everything else it can. A provider that is merely slow raises `readyWithinMs` instead.
   */
  readonly readiness?: { readonly skip: string }
  /** Scenarios the provider cannot take part in, each with the reason in words. */
  readonly skip?: Partial<Record<Exclude<ProviderScenario, "drift">, string>>
}

const LEVELS = {
  storage: ["dedicated-bucket", "volume", "directory"],
  identity: ["cloud-iam", "service-account", "token"],
  network: ["enforced-fqdn", "enforced-cidr", "advisory"]
} as const

/**
 * The scenarios every runtime provider must pass, whoever wrote it: run it with your provider's
 * Layer. Each tenant name is unique to its scenario, so scenarios share one provider instance.
 */
export const providerConformance = <E, R>(
  name: string,
  providerLayer: Layer.Layer<RuntimeProvider | R, E>,
  options: ProviderConformanceOptions<R>
) =>
  describe(`provider conformance: ${name}`, () => {
    layer(providerLayer, { timeout: 120_000, excludeTestServices: true })((it) => {
      const skipped = (scenario: Exclude<ProviderScenario, "drift">) => options.skip?.[scenario]
      const unobserved = options.readiness?.skip
      const probe = unobserved === undefined ? polledReadiness(options.readyWithinMs ?? 60_000) : unobservedReadiness(unobserved)
      // Scenarios that would wait for Ready say so when they cannot.
      const title = (scenario: string) => (unobserved === undefined ? scenario : `${scenario} (readiness not observed)`)

      it.effect("declares capability levels the contract knows", () =>
        Effect.gen(function* () {
          const { describe: d } = yield* RuntimeProvider
          assert.isNotEmpty(d.name)
          assert.include(LEVELS.storage, d.capabilities.storage)
          assert.include(LEVELS.identity, d.capabilities.identity)
          assert.include(LEVELS.network, d.capabilities.network)
        })
      )

      if (unobserved !== undefined) {
        it.skip(`brings a new tenant to Ready (skipped: ${unobserved})`, () => Effect.void)
      }
      it.effect(
        unobserved === undefined
          ? "brings a new tenant to Ready, and a second apply changes nothing"
          : "creates a new tenant that honestly reports NotReady, and a second apply changes nothing",
        () =>
          Effect.gen(function* () {
            const provider = yield* RuntimeProvider
            const rt = testRuntime("conf-ready")
            const first = yield* provider.apply(rt)
            assert.isTrue(first.changes.some((c) => c.action === "create"))
            assert.isTrue((yield* probe.up("conf-ready")).exists)
            const mark = yield* probe.mark("conf-ready")
            const second = yield* provider.apply(rt)
            assert.deepStrictEqual(
              second.changes.filter((c) => c.action !== "unchanged"),
              [],
              "a second apply must write nothing"
            )
            assert.isTrue((yield* provider.plan(rt)).changes.every((c) => c.action === "unchanged"))
            yield* probe.back("conf-ready", mark)
          })
      )

      it.effect("plans a spec change without writing, then converges to it", () =>
        Effect.gen(function* () {
          const provider = yield* RuntimeProvider
          const rt = testRuntime("conf-spec")
          yield* provider.apply(rt)
          const bigger = testRuntime("conf-spec", {
            generation: 2,
            spec: { ...rt.spec, resources: { ...rt.spec.resources, memory: "4Gi" as never } } as never
          })
          const plan = yield* provider.plan(bigger)
          const updates = plan.changes.filter((c) => c.action === "update")
          assert.isNotEmpty(updates)
          assert.isTrue(
            updates.some((c) => c.diff.some((line) => line.includes("4Gi"))),
            "the diff names the new value"
          )
          assert.isNotEmpty(
            (yield* provider.plan(bigger)).changes.filter((c) => c.action === "update"),
            "plan wrote nothing"
          )
          yield* provider.apply(bigger)
          assert.isTrue((yield* provider.plan(bigger)).changes.every((c) => c.action === "unchanged"))
        })
      )

      it.effect("carries a grant change into the runtime", () =>
        Effect.gen(function* () {
          const provider = yield* RuntimeProvider
          const rt = testRuntime("conf-grant")
          yield* provider.apply(rt)
          const granted = testRuntime("conf-grant", {
            access: { ...rt.access, egress: [{ pattern: "api.github.com", except: [] }] },
            openclaw: {
              ...rt.openclaw,
              config: { ...rt.openclaw.config, mcp: { servers: { github: { url: "http://broker/mcp/github" } } } }
            }
          })
          const plan = yield* provider.apply(granted)
          assert.isNotEmpty(plan.changes.filter((c) => c.action === "update"))
          assert.isTrue((yield* provider.plan(granted)).changes.every((c) => c.action === "unchanged"))
        })
      )

      if ("skip" in options.drift) {
        it.skip(`repairs drift on the next apply (skipped: ${options.drift.skip})`, () => Effect.void)
      } else {
        const drift = options.drift
        it.effect(title("repairs drift on the next apply"), () =>
          Effect.gen(function* () {
            const provider = yield* RuntimeProvider
            const rt = testRuntime("conf-drift")
            yield* provider.apply(rt)
            const mark = yield* probe.mark("conf-drift")
            yield* Effect.orDie(drift("conf-drift"))
            const plan = yield* provider.plan(rt)
            assert.isNotEmpty(
              plan.changes.filter((c) => c.action !== "unchanged"),
              "the plan sees the drift"
            )
            yield* provider.apply(rt)
            assert.isTrue((yield* provider.plan(rt)).changes.every((c) => c.action === "unchanged"))
            yield* probe.back("conf-drift", mark)
          })
        )
      }

      const suspendSkip = skipped("suspend")
      if (suspendSkip !== undefined) {
        it.skip(`suspends and resumes (skipped: ${suspendSkip})`, () => Effect.void)
      } else {
        it.effect(title("suspends the workload keeping storage and identity, and resumes it"), () =>
          Effect.gen(function* () {
            const provider = yield* RuntimeProvider
            assert.isTrue(provider.describe.capabilities.features.suspend, "declares suspend")
            const rt = testRuntime("conf-suspend")
            yield* provider.apply(rt)
            const mark = yield* probe.mark("conf-suspend")
            yield* provider.suspend(rt)
            yield* provider.suspend(rt)
            yield* probe.asleep("conf-suspend", mark)
            assert.isTrue((yield* provider.plan({ ...rt, suspended: true })).changes.every((c) => c.action === "unchanged"))
            yield* provider.resume(rt)
            yield* probe.back("conf-suspend", mark)
            assert.isTrue(
              (yield* provider.plan(rt)).changes.every((c) => c.action === "unchanged"),
              "resume converged"
            )
          })
        )
      }

      it.effect("destroys everything, twice without complaint", () =>
        Effect.gen(function* () {
          const provider = yield* RuntimeProvider
          yield* provider.apply(testRuntime("conf-destroy"))
          yield* provider.destroy("conf-destroy", { data: "delete" })
          yield* provider.destroy("conf-destroy", { data: "delete" })
          const gone = yield* provider.observe("conf-destroy")
          assert.isFalse(gone.exists)
          assert.deepStrictEqual(gone.resources, [])
        })
      )

      const retainSkip = skipped("retainData")
      if (retainSkip !== undefined) {
        it.skip(`keeps data on destroy when asked (skipped: ${retainSkip})`, () => Effect.void)
      } else {
        it.effect(title("keeps only the tenant's data when destroying with retention"), () =>
          Effect.gen(function* () {
            const provider = yield* RuntimeProvider
            yield* provider.apply(testRuntime("conf-keep"))
            const mark = yield* probe.mark("conf-keep")
            yield* provider.destroy("conf-keep", { data: "keep" })
            yield* probe.kept("conf-keep", mark)
          })
        )
      }

      it.effect(title("never lets two tenants share a resource"), () =>
        Effect.gen(function* () {
          const provider = yield* RuntimeProvider
          yield* provider.apply(
            testRuntime("conf-iso-a", { access: { ...testRuntime("x").access, egress: [{ pattern: "a.example.com", except: [] }] } })
          )
          yield* provider.apply(testRuntime("conf-iso-b"))
          const markB = yield* probe.mark("conf-iso-b")
          const a = (yield* provider.observe("conf-iso-a")).resources.map((r) => `${r.kind}/${r.name}`)
          const b = (yield* provider.observe("conf-iso-b")).resources.map((r) => `${r.kind}/${r.name}`)
          assert.isNotEmpty(a)
          assert.deepStrictEqual(
            a.filter((r) => b.includes(r)),
            [],
            "no resource belongs to both"
          )
          yield* provider.destroy("conf-iso-a", { data: "delete" })
          yield* probe.back("conf-iso-b", markB)
        })
      )
    })
  })
