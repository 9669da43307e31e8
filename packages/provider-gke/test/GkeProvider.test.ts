import { RuntimeProvider } from "@clawfleet/core"
import { FakeKubeApi, providerConformance, testRuntime } from "@clawfleet/core/testing"
import { assert, describe, layer } from "@effect/vitest"
import { Storage } from "@google-cloud/storage"
import { Effect, Schedule, Schema } from "effect"
import { bucketMember, bucketOf, GkeConfig } from "../src/index.ts"
import { GcsFake, IamFake } from "../src/testing/index.ts"
import { onFakes, platform, project } from "./support.ts"

const defaults = Schema.decodeUnknownSync(GkeConfig)({ ...project, platform })
const bucket = (tenant: string) => bucketOf(defaults, tenant)
const member = (tenant: string) => bucketMember(defaults, tenant)
const members = (policy: { bindings?: ReadonlyArray<{ members: ReadonlyArray<string> }> } | undefined) =>
  (policy?.bindings ?? []).flatMap((b) => b.members)
const writes = (requests: ReadonlyArray<{ method: string }>) => requests.filter((r) => r.method !== "GET")

const eventually = <E, R>(check: Effect.Effect<boolean, E, R>) =>
  Effect.repeat(check, { until: (ok) => ok, schedule: Schedule.spaced("10 millis") }).pipe(
    Effect.asVoid,
    Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.die(new Error("condition not reached within 5 s")) })
  )

providerConformance("gke on the fake API server and GCS/IAM fakes", onFakes(), {
  drift: (tenant) =>
    Effect.gen(function* () {
      const api = yield* FakeKubeApi
      api.remove({ apiVersion: "apps/v1", kind: "Deployment", namespace: `claw-${tenant}`, name: "openclaw" })
      yield* eventually(
        Effect.map(
          RuntimeProvider.use((p) => p.observe(tenant)),
          (o) => !o.resources.some((r) => r.kind === "Deployment")
        )
      )
    })
})

describe("gke provider", () => {
  layer(onFakes(), { excludeTestServices: true, timeout: 60_000 })((it) => {
    it.effect("binds each tenant's principal on its own bucket only, and re-applying writes nothing to GCS", () =>
      Effect.gen(function* () {
        const gcs = yield* GcsFake
        const provider = yield* RuntimeProvider
        yield* provider.apply(testRuntime("ann"))
        yield* provider.apply(testRuntime("ben"))
        assert.include(members(gcs.policy(bucket("ann"))), member("ann"))
        assert.notInclude(members(gcs.policy(bucket("ann"))), member("ben"))
        assert.include(members(gcs.policy(bucket("ben"))), member("ben"))
        assert.notInclude(members(gcs.policy(bucket("ben"))), member("ann"))
        const made = gcs.buckets().find((b: any) => b.name === bucket("ann")) as any
        assert.deepStrictEqual(made.iamConfiguration.publicAccessPrevention, "enforced")
        assert.isTrue(made.iamConfiguration.uniformBucketLevelAccess.enabled)
        gcs.resetRequests()
        const again = yield* provider.apply(testRuntime("ann"))
        assert.isTrue(again.changes.every((c) => c.action === "unchanged"))
        assert.deepStrictEqual(writes(gcs.requests()), [], "no GCS write on a re-apply")
      })
    )

    it.effect("keeps somebody else's binding, and redoes its edit when the policy moved under it", () =>
      Effect.gen(function* () {
        const gcs = yield* GcsFake
        const provider = yield* RuntimeProvider
        const rt = testRuntime("cat")
        yield* provider.apply(rt)
        // An operator grants a reader on the bucket while our binding is revoked and restored.
        gcs.editPolicy(bucket("cat"), (p: any) => {
          p.bindings.push({ role: "roles/storage.objectViewer", members: ["user:auditor@example.com"] })
        })
        const storage = new Storage({ apiEndpoint: gcs.url, projectId: project.projectId })
        const [policy] = yield* Effect.promise(() => storage.bucket(bucket("cat")).iam.getPolicy({ requestedPolicyVersion: 3 }))
        policy.bindings = policy.bindings.map((b) => ({ ...b, members: b.members.filter((m) => m !== member("cat")) }))
        yield* Effect.promise(() => storage.bucket(bucket("cat")).iam.setPolicy(policy))
        // The next write of our binding loses a race once: its etag is stale by the time it lands.
        gcs.failNext(1, { status: 412, match: (r: any) => r.method === "PUT" && r.path.endsWith("/iam") })
        gcs.resetRequests()
        yield* provider.apply(rt)
        const now = members(gcs.policy(bucket("cat")))
        assert.include(now, member("cat"))
        assert.include(now, "user:auditor@example.com")
        assert.strictEqual(gcs.requests().filter((r: any) => r.method === "PUT").length, 2, "retried once")
      })
    )

    it.effect("destroys bindings, objects and bucket, and leaves no labelled Kubernetes object", () =>
      Effect.gen(function* () {
        const gcs = yield* GcsFake
        const api = yield* FakeKubeApi
        const provider = yield* RuntimeProvider
        yield* provider.apply(testRuntime("dee"))
        const storage = new Storage({ apiEndpoint: gcs.url, projectId: project.projectId })
        yield* Effect.promise(() => storage.bucket(bucket("dee")).file("notes/today.md").save("hello"))
        yield* provider.destroy("dee", { data: "delete" })
        yield* api.settle
        assert.isUndefined(gcs.buckets().find((b: any) => b.name === bucket("dee")))
        assert.deepStrictEqual(api.objects({ labelSelector: "clawfleet.dev/tenant=dee" }), [])
      })
    )

    it.effect("with retention keeps the bucket and its objects but takes the binding away", () =>
      Effect.gen(function* () {
        const gcs = yield* GcsFake
        const provider = yield* RuntimeProvider
        yield* provider.apply(testRuntime("eve"))
        const storage = new Storage({ apiEndpoint: gcs.url, projectId: project.projectId })
        yield* Effect.promise(() => storage.bucket(bucket("eve")).file("memory.md").save("kept"))
        yield* provider.destroy("eve", { data: "keep" })
        assert.isDefined(gcs.buckets().find((b: any) => b.name === bucket("eve")))
        assert.strictEqual(gcs.objects(bucket("eve")).length, 1)
        assert.notInclude(members(gcs.policy(bucket("eve"))), member("eve"))
      })
    )
  })

  layer(onFakes({ identity: { mode: "google-service-account" } }), { excludeTestServices: true, timeout: 60_000 })((it) => {
    it.effect("creates a Google service account the KSA impersonates, bound on the bucket, and removes it on destroy", () =>
      Effect.gen(function* () {
        const gcs = yield* GcsFake
        const iam = yield* IamFake
        const provider = yield* RuntimeProvider
        yield* provider.apply(testRuntime("fay"))
        const accounts = iam.serviceAccounts() as ReadonlyArray<{ email: string }>
        assert.strictEqual(accounts.length, 1)
        const email = accounts[0]!.email
        assert.include(members(gcs.policy(`${bucket("fay")}`)), `serviceAccount:${email}`)
        assert.include(members(iam.policy(email)), `serviceAccount:${project.projectId}.svc.id.goog[claw-fay/openclaw]`)
        iam.resetRequests()
        yield* provider.apply(testRuntime("fay"))
        assert.deepStrictEqual(
          iam.requests().filter((r: any) => !/get/i.test(r.path) && r.method !== "GET"),
          [],
          "no IAM write on a re-apply"
        )
        yield* provider.destroy("fay", { data: "delete" })
        assert.deepStrictEqual(iam.serviceAccounts(), [])
      })
    )
  })
})
