import { MUTATING_VERBS } from "@clawfleet/core/testing"
import { assert, describe, it } from "@effect/vitest"
import * as k8s from "@kubernetes/client-node"
import { Effect } from "effect"
import { call, withFake } from "./support/fakeKube.ts"

describe("FakeKubeApi: discovery and the generic client", () => {
  it.live("serves discovery so that KubernetesObjectApi can create, read, apply and delete any registered kind", () =>
    withFake((fake, kc) =>
      Effect.gen(function* () {
        const client = k8s.KubernetesObjectApi.makeApiClient(kc)
        const policy: k8s.KubernetesObject & { spec: unknown } = {
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          metadata: { name: "deny", namespace: "default" },
          spec: { podSelector: {}, policyTypes: ["Ingress"] }
        }
        const created = yield* call(() => client.create(policy))
        assert.strictEqual(created.metadata?.generation, 1)
        const read = yield* call(() =>
          client.read({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "deny", namespace: "default" } })
        )
        assert.strictEqual(read.metadata?.uid, created.metadata?.uid)
        const patched = yield* call(() =>
          client.patch(
            { ...policy, spec: { podSelector: { matchLabels: { app: "db" } }, policyTypes: ["Ingress"] } },
            undefined,
            undefined,
            "reconciler",
            true,
            k8s.PatchStrategy.ServerSideApply
          )
        )
        assert.strictEqual(patched.metadata?.generation, 2)
        yield* call(() =>
          client.delete({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "deny", namespace: "default" } })
        )
        assert.isUndefined(fake.get("networking.k8s.io/v1", "NetworkPolicy", "default", "deny"))
        assert.isTrue(
          fake.requests().some((r) => r.path === "/apis/networking.k8s.io/v1" && r.verb === "get"),
          "it asked discovery first"
        )

        const storage = yield* call(() =>
          client.create({
            apiVersion: "storage.k8s.io/v1",
            kind: "StorageClass",
            metadata: { name: "fast" },
            provisioner: "x.io/disk"
          } as k8s.KubernetesObject)
        )
        assert.isUndefined(storage.metadata?.namespace, "StorageClass is cluster-scoped")

        const groups = yield* call(() => kc.makeApiClient(k8s.ApisApi).getAPIVersions())
        assert.includeMembers(
          groups.groups.map((g) => g.name),
          ["apps", "networking.k8s.io", "rbac.authorization.k8s.io", "storage.k8s.io"]
        )
        const core = yield* call(() => kc.makeApiClient(k8s.CoreV1Api).getAPIResources())
        const ns = core.resources.find((r) => r.name === "namespaces")
        assert.deepStrictEqual([ns?.kind, ns?.namespaced, ns?.shortNames], ["Namespace", false, ["ns"]])
        const version = yield* call(() => kc.makeApiClient(k8s.VersionApi).getCode())
        assert.strictEqual(version.major, "1")
      })
    )
  )

  it.live("serves extra resource types registered in the options", () =>
    withFake(
      (fake, kc) =>
        Effect.gen(function* () {
          const client = k8s.KubernetesObjectApi.makeApiClient(kc)
          const claw: k8s.KubernetesObject & { spec: unknown } = {
            apiVersion: "clawfleet.dev/v1",
            kind: "Claw",
            metadata: { name: "c1", namespace: "default" },
            spec: { size: 1 }
          }
          yield* call(() => client.patch(claw, undefined, undefined, "op", true, k8s.PatchStrategy.ServerSideApply))
          const next = yield* call(() =>
            client.patch({ ...claw, spec: { size: 2 } }, undefined, undefined, "op", true, k8s.PatchStrategy.ServerSideApply)
          )
          assert.strictEqual(next.metadata?.generation, 2)
          assert.strictEqual(fake.objects({ kind: "Claw" }).length, 1)
        }),
      { resources: [{ group: "clawfleet.dev", version: "v1", kind: "Claw", plural: "claws" }] }
    )
  )

  it.live("logs requests with their verbs, so a test can assert that a second reconcile wrote nothing", () =>
    withFake((fake, kc) =>
      Effect.gen(function* () {
        const core = kc.makeApiClient(k8s.CoreV1Api)
        const reconcile = Effect.gen(function* () {
          yield* call(() => core.listNamespacedConfigMap({ namespace: "default" }))
          return yield* call(() =>
            core.patchNamespacedConfigMap(
              {
                name: "cfg",
                namespace: "default",
                body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg" }, data: { a: "1" } },
                fieldManager: "ctl"
              },
              k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.ServerSideApply)
            )
          )
        })
        yield* reconcile
        assert.deepStrictEqual(
          fake.requests().map((r) => [r.verb, r.kind, r.namespace, r.name, r.fieldManager, r.contentType]),
          [
            ["list", "ConfigMap", "default", undefined, undefined, undefined],
            ["apply", "ConfigMap", "default", "cfg", "ctl", "application/apply-patch+yaml"]
          ]
        )
        const rv = fake.resourceVersion()
        fake.resetRequests()
        yield* call(() => core.deleteNamespacedConfigMap({ name: "missing-on-purpose", namespace: "default" }).catch(() => undefined))
        assert.deepStrictEqual(
          fake.requests().map((r) => r.verb),
          ["delete"]
        )
        fake.resetRequests()
        yield* reconcile
        assert.strictEqual(fake.resourceVersion(), rv, "the unchanged apply stored nothing")
        assert.deepStrictEqual(
          fake.requests().filter((r) => MUTATING_VERBS.has(r.verb) && r.verb !== "apply"),
          []
        )
      })
    )
  )
})
