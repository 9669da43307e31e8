import { execFile } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { FakeKubeApi, type FakeKubeApiOptions, MUTATING_VERBS } from "@clawfleet/core/testing"
import { assert, describe, it } from "@effect/vitest"
import * as k8s from "@kubernetes/client-node"
import { Effect } from "effect"

// Runs `body` against a fresh server, closed when the test ends.
const withFake = <A, E>(body: (fake: FakeKubeApi["Service"], kc: k8s.KubeConfig) => Effect.Effect<A, E>, options?: FakeKubeApiOptions) =>
  Effect.gen(function* () {
    const fake = yield* FakeKubeApi
    return yield* body(fake, fake.kubeConfig())
  }).pipe(Effect.provide(FakeKubeApi.layer(options)))

const call = <A>(f: () => Promise<A>) => Effect.promise(f)

/** The ApiException a call fails with, and its Status body. */
const failure = (f: () => Promise<unknown>) =>
  Effect.map(Effect.flip(Effect.tryPromise({ try: f, catch: (e) => e as k8s.ApiException<string> })), (e) => ({
    code: e.code,
    headers: e.headers,
    status: JSON.parse(e.body) as Record<string, any>
  }))

const deployment = (name: string, image = "nginx:1", extra: Record<string, unknown> = {}): k8s.V1Deployment => ({
  metadata: { name, labels: { app: name } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image }] } },
    ...extra
  }
})

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

describe("FakeKubeApi: validation", () => {
  it.live("answers 422 Invalid with causes for a Deployment the apiserver would refuse", () =>
    withFake((_fake, kc) =>
      Effect.gen(function* () {
        const apps = kc.makeApiClient(k8s.AppsV1Api)
        const noImage = deployment("web")
        noImage.spec!.template.spec!.containers = [{ name: "app" } as k8s.V1Container]
        const e1 = yield* failure(() => apps.createNamespacedDeployment({ namespace: "default", body: noImage }))
        assert.strictEqual(e1.code, 422)
        assert.strictEqual(e1.status.reason, "Invalid")
        assert.strictEqual(e1.status.message, 'Deployment.apps "web" is invalid: spec.template.spec.containers[0].image: Required value')
        assert.deepStrictEqual(e1.status.details, {
          name: "web",
          group: "apps",
          kind: "Deployment",
          causes: [{ reason: "FieldValueRequired", message: "Required value", field: "spec.template.spec.containers[0].image" }]
        })

        const wrongType = { ...deployment("web"), spec: { ...deployment("web").spec!, replicas: "three" as unknown as number } }
        const e2 = yield* failure(() => apps.createNamespacedDeployment({ namespace: "default", body: wrongType }))
        assert.strictEqual(e2.code, 422)
        assert.deepStrictEqual(
          e2.status.details.causes.map((c: { field: string; reason: string }) => [c.reason, c.field]),
          [["FieldValueInvalid", "spec.replicas"]]
        )

        const mismatch = { ...deployment("web"), spec: { ...deployment("web").spec!, selector: { matchLabels: { app: "other" } } } }
        const e3 = yield* failure(() => apps.createNamespacedDeployment({ namespace: "default", body: mismatch }))
        assert.match(e3.status.message, /`selector` does not match template `labels`/)

        const badName = yield* failure(() => apps.createNamespacedDeployment({ namespace: "default", body: deployment("Bad_Name") }))
        assert.strictEqual(badName.code, 422)
        assert.match(
          badName.status.message,
          /^Deployment\.apps "Bad_Name" is invalid: \[?metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/
        )

        const created = yield* call(() => apps.createNamespacedDeployment({ namespace: "default", body: deployment("web") }))
        const immutable = yield* failure(() =>
          apps.replaceNamespacedDeployment({
            name: "web",
            namespace: "default",
            body: {
              ...created,
              spec: {
                ...created.spec!,
                selector: { matchLabels: { app: "web", v: "2" } },
                template: { ...created.spec!.template, metadata: { labels: { app: "web", v: "2" } } }
              }
            }
          })
        )
        assert.strictEqual(immutable.code, 422)
        assert.match(immutable.status.message, /spec\.selector: Invalid value: .*field is immutable/)
      })
    )
  )

  it.live("validates ConfigMaps against their schema unless told not to", () =>
    Effect.gen(function* () {
      const body = { metadata: { name: "typed" }, data: { port: 8080 as unknown as string } }
      const strict = yield* withFake((_f, kc) =>
        failure(() => kc.makeApiClient(k8s.CoreV1Api).createNamespacedConfigMap({ namespace: "default", body }))
      )
      assert.strictEqual(strict.code, 422)
      assert.strictEqual(strict.status.details.causes[0].field, "data.port")
      const lax = yield* withFake(
        (_f, kc) => call(() => kc.makeApiClient(k8s.CoreV1Api).createNamespacedConfigMap({ namespace: "default", body })),
        { validate: false }
      )
      assert.strictEqual(lax.metadata?.name, "typed")
    })
  )
})

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

const kubectlPath = await new Promise<string | undefined>((resolve) =>
  execFile("kubectl", ["version", "--client"], (err) => resolve(err ? undefined : "kubectl"))
)

const kubectl = (kubeconfig: string, args: ReadonlyArray<string>, stdin?: string) =>
  Effect.callback<string, Error>((resume) => {
    const child = execFile("kubectl", ["--kubeconfig", kubeconfig, ...args], { timeout: 20_000 }, (err, stdout, stderr) =>
      resume(err ? Effect.fail(new Error(`kubectl ${args.join(" ")}: ${stderr || err.message}`)) : Effect.succeed(stdout))
    )
    if (stdin !== undefined) child.stdin?.end(stdin)
  })

describe("FakeKubeApi: kubectl", () => {
  // Skipped only when kubectl is not installed: the fake needs no cluster, but this test needs the binary.
  it.live.skipIf(kubectlPath === undefined)("drives the real kubectl: server-side apply, get -o json, delete", () =>
    withFake((fake, kc) =>
      Effect.acquireUseRelease(
        Effect.promise(() => mkdtemp(join(tmpdir(), "fake-kube-"))),
        (dir) =>
          Effect.gen(function* () {
            const config = join(dir, "config")
            yield* Effect.promise(() => writeFile(config, kc.exportConfig()))
            const manifest = JSON.stringify({
              apiVersion: "v1",
              kind: "ConfigMap",
              metadata: { name: "from-kubectl", namespace: "default" },
              data: { greeting: "hi" }
            })
            const out = yield* kubectl(config, ["apply", "--server-side", "-f", "-"], manifest)
            assert.match(out, /configmap\/from-kubectl serverside-applied/)
            const stored = fake.get("v1", "ConfigMap", "default", "from-kubectl")
            assert.deepStrictEqual(
              stored?.metadata?.managedFields?.map((m) => [m.manager, m.operation, m.fieldsV1]),
              [["kubectl", "Apply", { "f:data": { "f:greeting": {} } }]]
            )
            const got = JSON.parse(yield* kubectl(config, ["get", "configmap", "from-kubectl", "-n", "default", "-o", "json"]))
            assert.deepStrictEqual(got.data, { greeting: "hi" })

            fake.mutate(
              { apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "from-kubectl" },
              (cm) => void (cm.data = { greeting: "changed" }),
              {
                fieldManager: "operator"
              }
            )
            const conflict = yield* Effect.flip(kubectl(config, ["apply", "--server-side", "-f", "-"], manifest))
            assert.match(conflict.message, /conflict with "operator"/)

            const deleted = yield* kubectl(config, ["delete", "configmap", "from-kubectl", "-n", "default"])
            assert.match(deleted, /configmap "from-kubectl" deleted/)
            assert.isUndefined(fake.get("v1", "ConfigMap", "default", "from-kubectl"))
          }),
        (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
      )
    )
  )
})
