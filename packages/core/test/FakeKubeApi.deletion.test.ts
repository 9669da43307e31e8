import { assert, describe, it } from "@effect/vitest"
import * as k8s from "@kubernetes/client-node"
import { Effect } from "effect"
import { call, failure, withFake } from "./support/fakeKube.ts"

describe("FakeKubeApi: deletion", () => {
  it.live("keeps an object with finalizers until an update empties them", () =>
    withFake((_fake, kc) =>
      Effect.gen(function* () {
        const core = kc.makeApiClient(k8s.CoreV1Api)
        yield* call(() =>
          core.createNamespacedConfigMap({
            namespace: "default",
            body: { metadata: { name: "held", finalizers: ["example.com/cleanup"] } }
          })
        )
        yield* call(() => core.deleteNamespacedConfigMap({ name: "held", namespace: "default", propagationPolicy: "Foreground" }))
        const pending = yield* call(() => core.readNamespacedConfigMap({ name: "held", namespace: "default" }))
        assert.instanceOf(pending.metadata?.deletionTimestamp, Date)
        assert.deepStrictEqual(pending.metadata?.finalizers, ["example.com/cleanup"])

        const added = yield* failure(() =>
          core.replaceNamespacedConfigMap({
            name: "held",
            namespace: "default",
            body: { ...pending, metadata: { ...pending.metadata, finalizers: ["example.com/cleanup", "x.io/more"] } }
          })
        )
        assert.strictEqual(added.code, 422, "no new finalizers once deletion started")

        yield* call(() =>
          core.patchNamespacedConfigMap(
            { name: "held", namespace: "default", body: { metadata: { finalizers: null } } },
            k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch)
          )
        )
        const gone = yield* failure(() => core.readNamespacedConfigMap({ name: "held", namespace: "default" }))
        assert.strictEqual(gone.code, 404)
      })
    )
  )

  it.live("terminates a namespace: forbids new content, deletes what is in it, then removes it", () =>
    withFake((fake, kc) =>
      Effect.gen(function* () {
        const core = kc.makeApiClient(k8s.CoreV1Api)
        const ns = yield* call(() => core.createNamespace({ body: { metadata: { name: "doomed" } } }))
        assert.strictEqual(ns.metadata?.labels?.["kubernetes.io/metadata.name"], "doomed")
        assert.strictEqual(ns.status?.phase, "Active")
        yield* call(() => core.createNamespacedConfigMap({ namespace: "doomed", body: { metadata: { name: "a" } } }))
        yield* call(() =>
          core.createNamespacedConfigMap({ namespace: "doomed", body: { metadata: { name: "b", finalizers: ["x.io/f"] } } })
        )

        const terminating = yield* call(() => core.deleteNamespace({ name: "doomed" }))
        assert.strictEqual((terminating as k8s.V1Namespace).status?.phase, "Terminating")
        const refused = yield* failure(() => core.createNamespacedConfigMap({ namespace: "doomed", body: { metadata: { name: "late" } } }))
        assert.strictEqual(refused.code, 403)
        assert.strictEqual(refused.status.reason, "Forbidden")
        assert.strictEqual(
          refused.status.message,
          'configmaps "late" is forbidden: unable to create new content in namespace doomed because it is being terminated'
        )

        yield* fake.settle
        assert.isUndefined(fake.get("v1", "ConfigMap", "doomed", "a"))
        assert.isDefined(fake.get("v1", "ConfigMap", "doomed", "b")?.metadata?.deletionTimestamp, "held by its finalizer")
        assert.isDefined(fake.get("v1", "Namespace", undefined, "doomed"), "the namespace waits for its content")

        fake.mutate({ apiVersion: "v1", kind: "ConfigMap", namespace: "doomed", name: "b" }, (cm) => {
          cm.metadata!.finalizers = []
        })
        yield* fake.settle
        assert.isUndefined(fake.get("v1", "Namespace", undefined, "doomed"))
        assert.strictEqual((yield* failure(() => core.readNamespace({ name: "doomed" }))).code, 404)
      })
    )
  )

  it.live("garbage-collects dependents through ownerReferences, or orphans them", () =>
    withFake((fake, kc) =>
      Effect.gen(function* () {
        const core = kc.makeApiClient(k8s.CoreV1Api)
        const owner = (name: string) => call(() => core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name } } }))
        const dependent = (name: string, o: k8s.V1ConfigMap) =>
          call(() =>
            core.createNamespacedSecret({
              namespace: "default",
              body: {
                metadata: {
                  name,
                  ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: o.metadata!.name!, uid: o.metadata!.uid! }]
                }
              }
            })
          )
        const a = yield* owner("owner-a")
        const b = yield* owner("owner-b")
        yield* dependent("dep-a", a)
        yield* dependent("dep-b", b)
        yield* call(() => core.deleteNamespacedConfigMap({ name: "owner-a", namespace: "default" }))
        yield* call(() => core.deleteNamespacedConfigMap({ name: "owner-b", namespace: "default", propagationPolicy: "Orphan" }))
        yield* fake.settle
        assert.isUndefined(fake.get("v1", "Secret", "default", "dep-a"))
        const orphan = fake.get("v1", "Secret", "default", "dep-b")
        assert.isDefined(orphan)
        assert.isUndefined(orphan?.metadata?.ownerReferences)
      })
    )
  )
})
