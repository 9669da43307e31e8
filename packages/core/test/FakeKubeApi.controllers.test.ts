import { assert, describe, it } from "@effect/vitest"
import * as k8s from "@kubernetes/client-node"
import { Effect } from "effect"
import { call, deployment, withFake } from "./support/fakeKube.ts"

describe("FakeKubeApi: controllers", () => {
  it.live("with controllers on, reports workloads available and binds claims right after they are written", () =>
    withFake(
      (fake, kc) =>
        Effect.gen(function* () {
          const apps = kc.makeApiClient(k8s.AppsV1Api)
          const core = kc.makeApiClient(k8s.CoreV1Api)
          const d = yield* call(() => apps.createNamespacedDeployment({ namespace: "default", body: deployment("web") }))
          assert.isUndefined(d.status?.availableReplicas, "the write itself carries no status")
          yield* call(() =>
            core.createNamespacedPersistentVolumeClaim({
              namespace: "default",
              body: { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "5Gi" } } } }
            })
          )
          yield* fake.settle
          const rolled = yield* call(() => apps.readNamespacedDeployment({ name: "web", namespace: "default" }))
          assert.deepStrictEqual(
            [rolled.status?.observedGeneration, rolled.status?.availableReplicas, rolled.status?.conditions?.[0]?.type],
            [1, 1, "Available"]
          )
          const claim = yield* call(() => core.readNamespacedPersistentVolumeClaim({ name: "data", namespace: "default" }))
          assert.deepStrictEqual([claim.status?.phase, claim.status?.capacity?.storage], ["Bound", "5Gi"])
          assert.strictEqual(claim.spec?.volumeName, `pvc-${claim.metadata?.uid}`)

          yield* call(() =>
            apps.replaceNamespacedDeployment({
              name: "web",
              namespace: "default",
              body: { ...rolled, spec: { ...rolled.spec!, replicas: 0 } }
            })
          )
          yield* fake.settle
          const scaled = fake.get("apps/v1", "Deployment", "default", "web")?.status as k8s.V1DeploymentStatus | undefined
          assert.strictEqual(scaled?.observedGeneration, 2)
          assert.isUndefined(scaled?.availableReplicas, "zero counts are omitted")

          const ref = { apiVersion: "apps/v1", kind: "Deployment", namespace: "default", name: "web" } as const
          fake.mutate(ref, (dep) => void (dep.status = { observedGeneration: 2, replicas: 1, unavailableReplicas: 1 }))
          yield* fake.settle
          assert.deepStrictEqual(
            fake.get("apps/v1", "Deployment", "default", "web")?.status,
            { observedGeneration: 2, replicas: 1, unavailableReplicas: 1 },
            "a status a test set stays"
          )
        }),
      { controllers: true }
    )
  )

  it.live("without controllers, nothing fills in status", () =>
    withFake((fake, kc) =>
      Effect.gen(function* () {
        yield* call(() => kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({ namespace: "default", body: deployment("web") }))
        yield* fake.settle
        assert.isUndefined(fake.get("apps/v1", "Deployment", "default", "web")?.status)
      })
    )
  )
})
