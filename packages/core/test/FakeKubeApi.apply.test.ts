import { FakeKubeApi, type KubeObject } from "@clawfleet/core/testing"
import { assert, describe, it } from "@effect/vitest"
import * as k8s from "@kubernetes/client-node"
import { Effect } from "effect"

const withFake = <A, E>(body: (fake: FakeKubeApi["Service"], kc: k8s.KubeConfig) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const fake = yield* FakeKubeApi
    return yield* body(fake, fake.kubeConfig())
  }).pipe(Effect.provide(FakeKubeApi.layer()))

const call = <A>(f: () => Promise<A>) => Effect.promise(f)

const failure = (f: () => Promise<unknown>) =>
  Effect.map(Effect.flip(Effect.tryPromise({ try: f, catch: (e) => e as k8s.ApiException<string> })), (e) => ({
    code: e.code,
    status: JSON.parse(e.body) as Record<string, any>
  }))

/** Server-side apply through the typed client, as a controller would send it. */
const applyConfigMap = (
  kc: k8s.KubeConfig,
  manager: string,
  data: Record<string, string>,
  options: { force?: boolean; labels?: Record<string, string> } = {}
) =>
  call(() =>
    kc.makeApiClient(k8s.CoreV1Api).patchNamespacedConfigMap(
      {
        name: "cfg",
        namespace: "default",
        body: {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "cfg", ...(options.labels ? { labels: options.labels } : {}) },
          data
        },
        fieldManager: manager,
        ...(options.force === undefined ? {} : { force: options.force })
      },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.ServerSideApply)
    )
  )

const applyFailure = (kc: k8s.KubeConfig, manager: string, data: Record<string, string>) =>
  failure(() =>
    kc.makeApiClient(k8s.CoreV1Api).patchNamespacedConfigMap(
      {
        name: "cfg",
        namespace: "default",
        body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg" }, data },
        fieldManager: manager
      },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.ServerSideApply)
    )
  )

const managers = (obj: { metadata?: { managedFields?: ReadonlyArray<unknown> } } | undefined) =>
  (obj?.metadata?.managedFields ?? []).map((m) => {
    const e = m as { manager: string; operation: string; fieldsV1: unknown }
    return [e.manager, e.operation, e.fieldsV1]
  })

const CM = { apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "cfg" } as const

describe("FakeKubeApi: server-side apply", () => {
  it.live("creates, records ownership, and writes nothing for an apply that changes nothing", () =>
    withFake((fake, kc) =>
      Effect.gen(function* () {
        const created = yield* applyConfigMap(kc, "ctl", { a: "1" }, { labels: { app: "x" } })
        assert.deepStrictEqual(created.data, { a: "1" })
        assert.deepStrictEqual(managers(created), [
          ["ctl", "Apply", { "f:data": { "f:a": {} }, "f:metadata": { "f:labels": { "f:app": {} } } }]
        ])
        const rv = created.metadata?.resourceVersion
        const again = yield* applyConfigMap(kc, "ctl", { a: "1" }, { labels: { app: "x" } })
        assert.strictEqual(again.metadata?.resourceVersion, rv)
        assert.strictEqual(fake.resourceVersion(), rv, "no write happened at all")
        const changed = yield* applyConfigMap(kc, "ctl", { a: "2" }, { labels: { app: "x" } })
        assert.isAbove(Number(changed.metadata?.resourceVersion), Number(rv))
      })
    )
  )

  it.live("removes a field the applier stopped setting, unless another manager owns it too", () =>
    withFake((fake, kc) =>
      Effect.gen(function* () {
        const first = yield* applyConfigMap(kc, "ctl", { a: "1", b: "2", c: "3" }, { labels: { tier: "web" } })
        const unlabelled = yield* applyConfigMap(kc, "ctl", { a: "1", b: "2", c: "3" })
        assert.isUndefined(unlabelled.metadata?.labels, "the label and then the emptied map are gone")
        assert.deepStrictEqual(
          fake.objects({ kind: "ConfigMap", labelSelector: "tier=web" }).map((o) => o.metadata?.resourceVersion),
          [],
          "and the stored object agrees"
        )
        const replayed = yield* Effect.promise(
          () =>
            new Promise<any>((resolve) => {
              const since = String(Number(first.metadata?.resourceVersion) - 1)
              void new k8s.Watch(kc)
                .watch(
                  "/api/v1/namespaces/default/configmaps",
                  { resourceVersion: since },
                  (_type, o) => resolve(o),
                  () => undefined
                )
                .then((req) => setTimeout(() => req.abort(), 1000))
            })
        )
        assert.deepStrictEqual(replayed.metadata.labels, { tier: "web" }, "history keeps each change as it was")
        yield* applyConfigMap(kc, "other", { c: "3" })
        const after = yield* applyConfigMap(kc, "ctl", { a: "1" })
        assert.deepStrictEqual(after.data, { a: "1", c: "3" }, "b is gone; c stays because 'other' owns it as well")
        assert.deepStrictEqual(managers(fake.get("v1", "ConfigMap", "default", "cfg")), [
          ["ctl", "Apply", { "f:data": { "f:a": {} } }],
          ["other", "Apply", { "f:data": { "f:c": {} } }]
        ])
      })
    )
  )

  it.live("refuses to change a field another manager set, with a 409 that names it, and shares a field set to the same value", () =>
    withFake((fake, kc) =>
      Effect.gen(function* () {
        yield* applyConfigMap(kc, "ctl", { a: "1", b: "1" })
        fake.mutate(CM, (cm) => void (cm.data = { a: "edited", b: "1" }), { fieldManager: "kubectl" })

        const conflict = yield* applyFailure(kc, "ctl", { a: "1", b: "1" })
        assert.strictEqual(conflict.code, 409)
        assert.strictEqual(conflict.status.reason, "Conflict")
        assert.strictEqual(conflict.status.message, 'Apply failed with 1 conflict: conflict with "kubectl" using v1: .data.a')
        assert.deepStrictEqual(conflict.status.details.causes, [
          { reason: "FieldManagerConflict", message: 'conflict with "kubectl" using v1', field: ".data.a" }
        ])
        assert.deepStrictEqual(fake.get("v1", "ConfigMap", "default", "cfg")?.data, { a: "edited", b: "1" }, "nothing was written")

        const two = yield* applyFailure(kc, "third", { a: "x", b: "y" })
        assert.strictEqual(
          two.status.message,
          'Apply failed with 2 conflicts: conflicts with "ctl":\n- .data.b\nconflicts with "kubectl" using v1:\n- .data.a'
        )

        const shared = yield* applyConfigMap(kc, "third", { b: "1" })
        assert.deepStrictEqual(shared.data, { a: "edited", b: "1" })
        const owners = managers(shared).filter(([, , fields]) => JSON.stringify(fields).includes("f:b"))
        assert.deepStrictEqual(
          owners.map(([m]) => m),
          ["ctl", "third"],
          "the same value is owned by both"
        )
      })
    )
  )

  it.live("takes ownership with force", () =>
    withFake((fake, kc) =>
      Effect.gen(function* () {
        yield* applyConfigMap(kc, "ctl", { a: "1" })
        fake.mutate(CM, (cm) => void (cm.data = { a: "edited", z: "9" }), { fieldManager: "kubectl" })
        const forced = yield* applyConfigMap(kc, "ctl", { a: "1" }, { force: true })
        assert.deepStrictEqual(forced.data, { a: "1", z: "9" })
        // ctl's entry went when kubectl took its only field, so ctl's comes back after kubectl's.
        assert.deepStrictEqual(managers(forced), [
          ["kubectl", "Update", { "f:data": { "f:z": {} } }],
          ["ctl", "Apply", { "f:data": { "f:a": {} } }]
        ])
        const next = yield* applyConfigMap(kc, "ctl", { a: "2" })
        assert.strictEqual(next.data?.a, "2", "no conflict any more")
      })
    )
  )

  it.live("requires a fieldManager for apply", () =>
    withFake((_fake, kc) =>
      Effect.gen(function* () {
        const missing = yield* failure(() =>
          kc
            .makeApiClient(k8s.CoreV1Api)
            .patchNamespacedConfigMap(
              { name: "cfg", namespace: "default", body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg" } } },
              k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.ServerSideApply)
            )
        )
        assert.strictEqual(missing.code, 422)
        assert.strictEqual(
          missing.status.message,
          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'
        )
      })
    )
  )

  it.live("merges containers and env by name, owns them as k:{...}, and removes an env var the applier dropped", () =>
    withFake((fake, kc) =>
      Effect.gen(function* () {
        const client = k8s.KubernetesObjectApi.makeApiClient(kc)
        const manifest = (env: ReadonlyArray<{ name: string; value: string }>): k8s.KubernetesObject & { spec: unknown } => ({
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: "web", namespace: "default" },
          spec: {
            selector: { matchLabels: { app: "web" } },
            template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "app", image: "nginx:1", env }] } }
          }
        })
        const first = yield* call(() =>
          client.patch(
            manifest([
              { name: "A", value: "1" },
              { name: "B", value: "2" }
            ]),
            undefined,
            undefined,
            "ctl",
            false,
            k8s.PatchStrategy.ServerSideApply
          )
        )
        const fields = first.metadata?.managedFields?.[0]?.fieldsV1 as Record<string, any>
        const container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
        assert.deepStrictEqual(Object.keys(container), [".", "f:env", "f:image", "f:name"])
        assert.deepStrictEqual(container["f:env"]['k:{"name":"A"}'], { ".": {}, "f:name": {}, "f:value": {} })
        assert.deepStrictEqual(fields["f:spec"]["f:selector"], {}, "a label selector is atomic")

        fake.mutate(
          { apiVersion: "apps/v1", kind: "Deployment", namespace: "default", name: "web" },
          (d: KubeObject) => {
            const spec = d.spec as any
            spec.template.spec.containers.push({ name: "sidecar", image: "envoy:1" })
          },
          { fieldManager: "injector" }
        )

        const second = yield* call(() =>
          client.patch(manifest([{ name: "A", value: "1" }]), undefined, undefined, "ctl", false, k8s.PatchStrategy.ServerSideApply)
        )
        const containers = (second as unknown as k8s.V1Deployment).spec?.template.spec?.containers ?? []
        assert.deepStrictEqual(
          containers.map((c) => [c.name, c.env?.map((e) => e.name)]),
          [
            ["app", ["A"]],
            ["sidecar", undefined]
          ]
        )
        assert.strictEqual(second.metadata?.generation, 3, "the sidecar and the env change each changed the spec")
        const third = yield* call(() =>
          client.patch(manifest([{ name: "A", value: "1" }]), undefined, undefined, "ctl", false, k8s.PatchStrategy.ServerSideApply)
        )
        assert.strictEqual(third.metadata?.resourceVersion, second.metadata?.resourceVersion)
        assert.strictEqual(third.metadata?.generation, 3)
      })
    )
  )

  it.live("records an Update entry for PUTs and non-apply patches", () =>
    withFake((_fake, kc) =>
      Effect.gen(function* () {
        const core = kc.makeApiClient(k8s.CoreV1Api)
        const created = yield* call(() =>
          core.createNamespacedConfigMap({
            namespace: "default",
            body: { metadata: { name: "cfg" }, data: { a: "1" } },
            fieldManager: "creator"
          })
        )
        assert.deepStrictEqual(managers(created), [["creator", "Update", { "f:data": { ".": {}, "f:a": {} } }]])
        const replaced = yield* call(() =>
          core.replaceNamespacedConfigMap({
            name: "cfg",
            namespace: "default",
            body: { ...created, data: { a: "1", b: "2" } },
            fieldManager: "editor"
          })
        )
        assert.deepStrictEqual(managers(replaced), [
          ["creator", "Update", { "f:data": { ".": {}, "f:a": {} } }],
          ["editor", "Update", { "f:data": { "f:b": {} } }]
        ])
      })
    )
  )
})

describe("FakeKubeApi: patches", () => {
  it.live("applies a merge patch (null deletes) and a JSON patch (test failures are refused)", () =>
    withFake((_fake, kc) =>
      Effect.gen(function* () {
        const core = kc.makeApiClient(k8s.CoreV1Api)
        yield* call(() =>
          core.createNamespacedConfigMap({
            namespace: "default",
            body: { metadata: { name: "cfg", labels: { a: "1" } }, data: { a: "1", b: "2" } }
          })
        )
        const merged = yield* call(() =>
          core.patchNamespacedConfigMap(
            { name: "cfg", namespace: "default", body: { data: { b: null, c: "3" }, metadata: { labels: { extra: "x" } } } },
            k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch)
          )
        )
        assert.deepStrictEqual(merged.data, { a: "1", c: "3" })
        assert.deepStrictEqual(merged.metadata?.labels, { a: "1", extra: "x" })

        const patched = yield* call(() =>
          core.patchNamespacedConfigMap({
            name: "cfg",
            namespace: "default",
            body: [
              { op: "test", path: "/data/a", value: "1" },
              { op: "replace", path: "/data/a", value: "10" },
              { op: "remove", path: "/data/c" },
              { op: "add", path: "/metadata/labels/k8s.io~1role", value: "r" }
            ]
          })
        )
        assert.deepStrictEqual(patched.data, { a: "10" })
        assert.strictEqual(patched.metadata?.labels?.["k8s.io/role"], "r")

        const refused = yield* failure(() =>
          core.patchNamespacedConfigMap({
            name: "cfg",
            namespace: "default",
            body: [
              { op: "test", path: "/data/a", value: "1" },
              { op: "remove", path: "/data/a" }
            ]
          })
        )
        assert.strictEqual(refused.code, 422)
        const unchanged = yield* call(() => core.readNamespacedConfigMap({ name: "cfg", namespace: "default" }))
        assert.deepStrictEqual(unchanged.data, { a: "10" }, "a failed JSON patch changes nothing")

        const stale = yield* failure(() =>
          core.patchNamespacedConfigMap(
            { name: "cfg", namespace: "default", body: { metadata: { resourceVersion: "1" }, data: { a: "x" } } },
            k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch)
          )
        )
        assert.strictEqual(stale.code, 409, "a patch carrying a resourceVersion is a precondition")
      })
    )
  )

  it.live("merges a strategic merge patch into containers by name", () =>
    withFake((_fake, kc) =>
      Effect.gen(function* () {
        const apps = kc.makeApiClient(k8s.AppsV1Api)
        yield* call(() =>
          apps.createNamespacedDeployment({
            namespace: "default",
            body: {
              metadata: { name: "web" },
              spec: {
                selector: { matchLabels: { app: "web" } },
                template: {
                  metadata: { labels: { app: "web" } },
                  spec: {
                    containers: [
                      { name: "app", image: "nginx:1", env: [{ name: "A", value: "1" }] },
                      { name: "log", image: "fluent:1" }
                    ]
                  }
                }
              }
            }
          })
        )
        const patched = yield* call(() =>
          apps.patchNamespacedDeployment(
            {
              name: "web",
              namespace: "default",
              body: {
                spec: {
                  template: {
                    spec: {
                      containers: [
                        { name: "app", image: "nginx:2", env: [{ name: "B", value: "2" }] },
                        { name: "log", $patch: "delete" }
                      ]
                    }
                  }
                }
              }
            },
            k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch)
          )
        )
        assert.deepStrictEqual(
          patched.spec?.template.spec?.containers.map((c) => [c.name, c.image, c.env?.map((e) => e.name)]),
          [["app", "nginx:2", ["A", "B"]]]
        )
        assert.strictEqual(patched.metadata?.generation, 2)
      })
    )
  )
})
