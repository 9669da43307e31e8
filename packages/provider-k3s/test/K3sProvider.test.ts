import { RuntimeProvider } from "@clawfleet/core"
import { FakeKubeApi, MUTATING_VERBS, providerConformance, testRuntime } from "@clawfleet/core/testing"
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { eventually, observe, onFake } from "./support.ts"

const ns = (tenant: string) => `claw-${tenant}`

// The way a person's tool would do it: the real client, server-side apply as manager "ops-team".
const opsTeamApplies = (api: FakeKubeApi["Service"], tenant: string) =>
  Effect.promise(async () => {
    const k8s = await import("@kubernetes/client-node")
    const core = api.kubeConfig().makeApiClient(k8s.CoreV1Api)
    await core.patchNamespacedResourceQuota(
      {
        name: "tenant-quota",
        namespace: ns(tenant),
        body: { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenant-quota" }, spec: { hard: { pods: "5" } } },
        fieldManager: "ops-team",
        force: true
      },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.ServerSideApply)
    )
  })

providerConformance("k3s on the fake API server", onFake(), {
  // Deleting the Deployment behind the provider's back, then waiting for its watch to see it.
  drift: (tenant) =>
    Effect.gen(function* () {
      const api = yield* FakeKubeApi
      api.remove({ apiVersion: "apps/v1", kind: "Deployment", namespace: ns(tenant), name: "openclaw" })
      yield* eventually(Effect.map(observe(tenant), (o) => !o.resources.some((r) => r.kind === "Deployment")))
    })
})

describe("k3s provider", () => {
  layer(onFake({ agent: { bundle: "export {}" }, ingress: { domain: "claw.example.com" } }), {
    excludeTestServices: true,
    timeout: 60_000
  })((it) => {
    it.effect("creates each object with one request, and a second apply sends no request at all", () =>
      Effect.gen(function* () {
        const api = yield* FakeKubeApi
        const provider = yield* RuntimeProvider
        const rt = testRuntime("once")
        api.resetRequests()
        const plan = yield* provider.apply(rt)
        const writes = api.requests().filter((r) => MUTATING_VERBS.has(r.verb))
        assert.strictEqual(writes.length, plan.changes.length, "one request per object")
        assert.isTrue(writes.every((r) => r.verb === "apply" && r.fieldManager === "clawfleet"))
        api.resetRequests()
        const again = yield* provider.apply(rt)
        assert.isTrue(again.changes.every((c) => c.action === "unchanged"))
        assert.deepStrictEqual(api.requests(), [], "reads come from the watch-fed cache")
        const seen = yield* provider.observe("once")
        assert.strictEqual(seen.endpoint, "https://once.claw.example.com")
      })
    )

    it.effect("retries 429 and 500 answers and converges", () =>
      Effect.gen(function* () {
        const api = yield* FakeKubeApi
        const provider = yield* RuntimeProvider
        api.failNext(2, { status: 429, retryAfterSeconds: 0 })
        api.failNext(1, { status: 500 })
        const plan = yield* provider.apply(testRuntime("flaky"))
        assert.isTrue(plan.changes.every((c) => c.action === "create"))
        const statuses = api.requests().filter((r) => r.namespace === ns("flaky") || r.name === ns("flaky"))
        assert.isAbove(statuses.length, plan.changes.length, "the failed requests were sent again")
        assert.isDefined(api.get("apps/v1", "Deployment", ns("flaky"), "openclaw"))
      })
    )

    it.effect("keeps its cache current across a watch that the server ends", () =>
      Effect.gen(function* () {
        const api = yield* FakeKubeApi
        const provider = yield* RuntimeProvider
        const rt = testRuntime("rewatched")
        yield* provider.apply(rt)
        api.closeWatches()
        api.remove({ apiVersion: "v1", kind: "ConfigMap", namespace: ns("rewatched"), name: "openclaw-config" })
        yield* eventually(Effect.map(provider.plan(rt), (p) => p.changes.some((c) => c.action === "create")))
        yield* provider.apply(rt)
        assert.isDefined(api.get("v1", "ConfigMap", ns("rewatched"), "openclaw-config"))
      })
    )

    it.effect("repairs a NetworkPolicy edited behind its back", () =>
      Effect.gen(function* () {
        const api = yield* FakeKubeApi
        const provider = yield* RuntimeProvider
        const rt = testRuntime("edited")
        yield* provider.apply(rt)
        api.mutate({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", namespace: ns("edited"), name: "default-deny" }, (o) => {
          ;(o as any).spec.policyTypes = ["Ingress"]
        })
        yield* eventually(Effect.map(provider.plan(rt), (p) => p.changes.some((c) => c.action === "update")))
        const plan = yield* provider.plan(rt)
        const update = plan.changes.find((c) => c.action === "update")!
        assert.strictEqual(update.name, "claw-edited/default-deny")
        assert.isTrue(update.diff.some((line) => line.startsWith("spec.policyTypes")))
        yield* provider.apply(rt)
        const fixed = api.get("networking.k8s.io/v1", "NetworkPolicy", ns("edited"), "default-deny") as any
        assert.deepStrictEqual(fixed.spec.policyTypes, ["Ingress", "Egress"])
      })
    )

    it.effect("prunes the object a revoked grant caused", () =>
      Effect.gen(function* () {
        const api = yield* FakeKubeApi
        const provider = yield* RuntimeProvider
        const granted = testRuntime("pruned", { access: { ...testRuntime("pruned").access, skills: ["pdf", "web"] } })
        yield* provider.apply(granted)
        assert.isDefined(api.get("v1", "ConfigMap", ns("pruned"), "skill-pdf"))
        const revoked = testRuntime("pruned", { access: { ...granted.access, skills: ["web"] } })
        const plan = yield* provider.apply(revoked)
        assert.deepStrictEqual(
          plan.changes.filter((c) => c.action === "delete").map((c) => `${c.kind}/${c.name}`),
          ["ConfigMap/claw-pruned/skill-pdf"]
        )
        assert.isUndefined(api.get("v1", "ConfigMap", ns("pruned"), "skill-pdf"))
        assert.isDefined(api.get("v1", "ConfigMap", ns("pruned"), "skill-web"))
      })
    )

    it.effect("scales to zero when suspended and keeps the volume", () =>
      Effect.gen(function* () {
        const api = yield* FakeKubeApi
        const provider = yield* RuntimeProvider
        const rt = testRuntime("sleepy")
        yield* provider.apply(rt)
        yield* provider.suspend(rt)
        const d = api.get("apps/v1", "Deployment", ns("sleepy"), "openclaw") as any
        assert.strictEqual(d.spec.replicas, 0)
        assert.isDefined(api.get("v1", "PersistentVolumeClaim", ns("sleepy"), "state"))
        const seen = yield* provider.observe("sleepy")
        assert.isFalse(seen.workload.ready)
        assert.isTrue(seen.storage.ready && seen.identity.ready && seen.network.ready)
        yield* provider.resume(rt)
        assert.strictEqual((api.get("apps/v1", "Deployment", ns("sleepy"), "openclaw") as any).spec.replicas, 1)
      })
    )

    it.effect("destroy leaves no object labelled for the tenant", () =>
      Effect.gen(function* () {
        const api = yield* FakeKubeApi
        const provider = yield* RuntimeProvider
        yield* provider.apply(testRuntime("doomed"))
        yield* provider.destroy("doomed", { data: "delete" })
        yield* api.settle
        assert.deepStrictEqual(api.objects({ labelSelector: "clawfleet.dev/tenant=doomed" }), [])
        assert.isUndefined(api.get("v1", "Namespace", undefined, ns("doomed")))
      })
    )

    it.effect("reports a field another manager owns instead of overwriting it", () =>
      Effect.gen(function* () {
        const api = yield* FakeKubeApi
        const provider = yield* RuntimeProvider
        const rt = testRuntime("contested")
        yield* provider.apply(rt)
        // Another team declares its own value with server-side apply (and force, taking the field).
        yield* opsTeamApplies(api, "contested")
        const bigger = testRuntime("contested", { spec: { ...rt.spec, resources: { ...rt.spec.resources, cpu: "2" as never } } as never })
        const failure = yield* Effect.flip(provider.apply(bigger))
        assert.strictEqual(failure.reason, "Conflict")
        assert.include(failure.message, "ops-team")
        const quota = api.get("v1", "ResourceQuota", ns("contested"), "tenant-quota") as any
        assert.strictEqual(quota.spec.hard.pods, "5", "the other manager's value stands")
      })
    )
  })

  layer(onFake({ kubernetes: { force: true } }), { excludeTestServices: true, timeout: 60_000 })((it) => {
    it.effect("takes the field when force is configured", () =>
      Effect.gen(function* () {
        const api = yield* FakeKubeApi
        const provider = yield* RuntimeProvider
        const rt = testRuntime("forced")
        yield* provider.apply(rt)
        yield* opsTeamApplies(api, "forced")
        yield* eventually(Effect.map(provider.plan(rt), (p) => p.changes.some((c) => c.action === "update")))
        yield* provider.apply(rt)
        assert.strictEqual((api.get("v1", "ResourceQuota", ns("forced"), "tenant-quota") as any).spec.hard.pods, "2")
      })
    )
  })
})
