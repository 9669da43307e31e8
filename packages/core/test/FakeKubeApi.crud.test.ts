import { assert, describe, it } from "@effect/vitest"
import * as k8s from "@kubernetes/client-node"
import { Effect } from "effect"
import { call, deployment, failure, withFake } from "./support/fakeKube.ts"

describe("FakeKubeApi: typed CRUD", () => {
  it.live("creates, reads, lists, replaces and deletes a ConfigMap through CoreV1Api", () =>
    withFake((fake, kc) =>
      Effect.gen(function* () {
        const core = kc.makeApiClient(k8s.CoreV1Api)
        const created = yield* call(() =>
          core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "settings" }, data: { a: "1" } } })
        )
        assert.match(created.metadata?.uid ?? "", /^[0-9a-f-]{36}$/)
        assert.instanceOf(created.metadata?.creationTimestamp, Date)
        assert.isUndefined(created.metadata?.generation, "ConfigMaps have no generation")
        const rv1 = Number(created.metadata?.resourceVersion)

        const read = yield* call(() => core.readNamespacedConfigMap({ name: "settings", namespace: "default" }))
        assert.deepStrictEqual(read.data, { a: "1" })
        assert.strictEqual(read.metadata?.uid, created.metadata?.uid)

        const replaced = yield* call(() =>
          core.replaceNamespacedConfigMap({ name: "settings", namespace: "default", body: { ...read, data: { a: "2" } } })
        )
        assert.isAbove(Number(replaced.metadata?.resourceVersion), rv1)
        assert.strictEqual(replaced.metadata?.uid, created.metadata?.uid)

        const listed = yield* call(() => core.listNamespacedConfigMap({ namespace: "default" }))
        assert.deepStrictEqual(
          listed.items.map((c) => [c.metadata?.name, c.data]),
          [["settings", { a: "2" }]]
        )
        assert.strictEqual(listed.metadata?.resourceVersion, replaced.metadata?.resourceVersion)

        const deleted = yield* call(() => core.deleteNamespacedConfigMap({ name: "settings", namespace: "default" }))
        assert.strictEqual(deleted.status, "Success")
        assert.strictEqual(deleted.details?.uid, created.metadata?.uid)
        const gone = yield* failure(() => core.readNamespacedConfigMap({ name: "settings", namespace: "default" }))
        assert.strictEqual(gone.code, 404)
        assert.deepStrictEqual(gone.status, {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: 'configmaps "settings" not found',
          reason: "NotFound",
          details: { name: "settings", kind: "configmaps" },
          code: 404
        })
        assert.isUndefined(fake.get("v1", "ConfigMap", "default", "settings"))
      })
    )
  )

  it.live("answers AlreadyExists, a missing namespace and generateName as the apiserver does", () =>
    withFake((_fake, kc) =>
      Effect.gen(function* () {
        const core = kc.makeApiClient(k8s.CoreV1Api)
        yield* call(() =>
          core.createNamespacedSecret({ namespace: "default", body: { metadata: { name: "s" }, stringData: { token: "abc" } } })
        )
        const read = yield* call(() => core.readNamespacedSecret({ name: "s", namespace: "default" }))
        assert.deepStrictEqual(read.data, { token: Buffer.from("abc").toString("base64") }, "stringData is folded into data")
        assert.strictEqual(read.type, "Opaque")

        const again = yield* failure(() => core.createNamespacedSecret({ namespace: "default", body: { metadata: { name: "s" } } }))
        assert.strictEqual(again.code, 409)
        assert.strictEqual(again.status.reason, "AlreadyExists")
        assert.strictEqual(again.status.message, 'secrets "s" already exists')

        const noNs = yield* failure(() => core.createNamespacedConfigMap({ namespace: "nope", body: { metadata: { name: "x" } } }))
        assert.strictEqual(noNs.code, 404)
        assert.strictEqual(noNs.status.message, 'namespaces "nope" not found')

        const a = yield* call(() => core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { generateName: "job-" } } }))
        const b = yield* call(() => core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { generateName: "job-" } } }))
        assert.match(a.metadata?.name ?? "", /^job-[a-z0-9]{5}$/)
        assert.notStrictEqual(a.metadata?.name, b.metadata?.name)
      })
    )
  )

  it.live("rejects a PUT with a stale resourceVersion with the real Conflict", () =>
    withFake((_fake, kc) =>
      Effect.gen(function* () {
        const core = kc.makeApiClient(k8s.CoreV1Api)
        const v1 = yield* call(() =>
          core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "c" }, data: { a: "1" } } })
        )
        yield* call(() => core.replaceNamespacedConfigMap({ name: "c", namespace: "default", body: { ...v1, data: { a: "2" } } }))
        const stale = yield* failure(() =>
          core.replaceNamespacedConfigMap({ name: "c", namespace: "default", body: { ...v1, data: { a: "3" } } })
        )
        assert.strictEqual(stale.code, 409)
        assert.strictEqual(stale.status.reason, "Conflict")
        assert.strictEqual(
          stale.status.message,
          'Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes to the latest version and try again'
        )
        const kept = yield* call(() => core.readNamespacedConfigMap({ name: "c", namespace: "default" }))
        assert.deepStrictEqual(kept.data, { a: "2" })
      })
    )
  )

  it.live("bumps a Deployment's generation on spec changes only, and ignores status written to the main resource", () =>
    withFake((_fake, kc) =>
      Effect.gen(function* () {
        const apps = kc.makeApiClient(k8s.AppsV1Api)
        const d = yield* call(() => apps.createNamespacedDeployment({ namespace: "default", body: deployment("web") }))
        assert.strictEqual(d.metadata?.generation, 1)
        const relabelled = yield* call(() =>
          apps.replaceNamespacedDeployment({
            name: "web",
            namespace: "default",
            body: { ...d, metadata: { ...d.metadata, labels: { app: "web", tier: "front" } }, status: { replicas: 7 } }
          })
        )
        assert.strictEqual(relabelled.metadata?.generation, 1, "metadata changes leave generation alone")
        assert.isUndefined(relabelled.status?.replicas, "status is written through the status subresource only")
        assert.isAbove(Number(relabelled.metadata?.resourceVersion), Number(d.metadata?.resourceVersion))
        const scaled = yield* call(() =>
          apps.replaceNamespacedDeployment({
            name: "web",
            namespace: "default",
            body: { ...relabelled, spec: { ...relabelled.spec!, replicas: 3 } }
          })
        )
        assert.strictEqual(scaled.metadata?.generation, 2)

        const status = yield* call(() =>
          apps.replaceNamespacedDeploymentStatus({ name: "web", namespace: "default", body: { ...scaled, status: { readyReplicas: 3 } } })
        )
        assert.strictEqual(status.status?.readyReplicas, 3)
        assert.strictEqual(status.metadata?.generation, 2, "a status write is no spec change")

        const unchanged = yield* call(() => apps.replaceNamespacedDeployment({ name: "web", namespace: "default", body: status }))
        assert.strictEqual(unchanged.metadata?.resourceVersion, status.metadata?.resourceVersion, "a no-op PUT writes nothing")
      })
    )
  )

  it.live("lists across namespaces with label and field selectors", () =>
    withFake((fake, kc) =>
      Effect.gen(function* () {
        const core = kc.makeApiClient(k8s.CoreV1Api)
        const apps = kc.makeApiClient(k8s.AppsV1Api)
        yield* call(() => core.createNamespace({ body: { metadata: { name: "team-a" } } }))
        const labelled = (ns: string, name: string, labels: Record<string, string>) =>
          call(() => apps.createNamespacedDeployment({ namespace: ns, body: { ...deployment(name), metadata: { name, labels } } }))
        yield* labelled("default", "a", { app: "a", tier: "web", env: "prod" })
        yield* labelled("default", "b", { app: "b", tier: "db" })
        yield* labelled("team-a", "c", { app: "c", tier: "web", env: "dev" })

        const names = (labelSelector?: string, fieldSelector?: string) =>
          Effect.map(
            call(() =>
              apps.listDeploymentForAllNamespaces({
                ...(labelSelector ? { labelSelector } : {}),
                ...(fieldSelector ? { fieldSelector } : {})
              })
            ),
            (l) => l.items.map((d) => `${d.metadata?.namespace}/${d.metadata?.name}`)
          )
        assert.deepStrictEqual(yield* names(), ["default/a", "default/b", "team-a/c"])
        assert.deepStrictEqual(yield* names("tier=web"), ["default/a", "team-a/c"])
        assert.deepStrictEqual(yield* names("tier!=web"), ["default/b"])
        assert.deepStrictEqual(yield* names("env"), ["default/a", "team-a/c"])
        assert.deepStrictEqual(yield* names("!env"), ["default/b"])
        assert.deepStrictEqual(yield* names("env in (dev, staging)"), ["team-a/c"])
        assert.deepStrictEqual(yield* names("env notin (dev),tier=web"), ["default/a"])
        assert.deepStrictEqual(yield* names(undefined, "metadata.namespace=team-a"), ["team-a/c"])
        assert.deepStrictEqual(yield* names("tier=web", "metadata.name!=a"), ["team-a/c"])

        const bad = yield* failure(() => apps.listDeploymentForAllNamespaces({ labelSelector: "tier in web" }))
        assert.strictEqual(bad.code, 400)
        assert.strictEqual(bad.status.reason, "BadRequest")
        const badField = yield* failure(() => apps.listDeploymentForAllNamespaces({ fieldSelector: "spec.replicas=1" }))
        assert.strictEqual(badField.status.message, "field label not supported: spec.replicas")

        const page1 = yield* call(() => apps.listDeploymentForAllNamespaces({ limit: 2 }))
        assert.strictEqual(page1.items.length, 2)
        assert.strictEqual(page1.metadata?.remainingItemCount, 1)
        const page2 = yield* call(() => apps.listDeploymentForAllNamespaces({ limit: 2, _continue: page1.metadata?._continue ?? "" }))
        assert.deepStrictEqual(
          page2.items.map((d) => d.metadata?.name),
          ["c"]
        )
        assert.deepStrictEqual(
          fake.objects({ kind: "Deployment", labelSelector: "tier=web" }).map((d) => d.metadata?.name),
          ["a", "c"]
        )
      })
    )
  )
})
