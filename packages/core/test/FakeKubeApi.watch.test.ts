import { FakeKubeApi, type FakeKubeApiOptions } from "@clawfleet/core/testing"
import { assert, describe, it } from "@effect/vitest"
import * as k8s from "@kubernetes/client-node"
import { Effect } from "effect"

const withFake = <A, E, R>(
  body: (fake: FakeKubeApi["Service"], kc: k8s.KubeConfig) => Effect.Effect<A, E, R>,
  options?: FakeKubeApiOptions
) =>
  Effect.gen(function* () {
    const fake = yield* FakeKubeApi
    return yield* body(fake, fake.kubeConfig())
  }).pipe(Effect.provide(FakeKubeApi.layer(options)))

const call = <A>(f: () => Promise<A>) => Effect.promise(f)

const failure = (f: () => Promise<unknown>) =>
  Effect.map(Effect.flip(Effect.tryPromise({ try: f, catch: (e) => e as k8s.ApiException<string> })), (e) => ({
    code: e.code,
    headers: e.headers,
    status: JSON.parse(e.body) as Record<string, any>
  }))

const eventually = (check: () => boolean, what: string) =>
  Effect.gen(function* () {
    for (let i = 0; i < 400; i++) {
      if (check()) return
      yield* Effect.sleep(5)
    }
    assert.fail(`timed out waiting for ${what}`)
  })

interface Seen {
  readonly type: string
  readonly name: string | undefined
  readonly object: any
}

/** A client-node Watch that records its events; aborted when the test's scope closes. */
const watch = (kc: k8s.KubeConfig, path: string, params: Record<string, string | number | boolean | undefined> = {}) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const events: Array<Seen> = []
      let ended = false
      let error: unknown
      const controller = await new k8s.Watch(kc).watch(
        path,
        params,
        (type, object) => events.push({ type, name: object?.metadata?.name, object }),
        (err) => {
          ended = true
          error = err
        }
      )
      return {
        events,
        controller,
        get ended() {
          return ended
        },
        get error() {
          return error
        }
      }
    }),
    (w) => Effect.sync(() => w.controller.abort())
  )

const CMS = "/api/v1/namespaces/default/configmaps"

const cm = (kc: k8s.KubeConfig) => {
  const core = kc.makeApiClient(k8s.CoreV1Api)
  return {
    create: (name: string, labels: Record<string, string> = {}, data: Record<string, string> = {}) =>
      call(() => core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name, labels }, data } })),
    patch: (name: string, body: object) =>
      call(() =>
        core.patchNamespacedConfigMap(
          { name, namespace: "default", body },
          k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch)
        )
      ),
    remove: (name: string) => call(() => core.deleteNamespacedConfigMap({ name, namespace: "default" }))
  }
}

describe("FakeKubeApi: watch", () => {
  it.live("streams the current state, then changes, and follows objects in and out of a label selector", () =>
    withFake((_fake, kc) =>
      Effect.gen(function* () {
        const c = cm(kc)
        yield* c.create("pre", { app: "x" })
        yield* c.create("unrelated", { app: "y" })
        const w = yield* watch(kc, CMS, { labelSelector: "app=x" })
        yield* c.create("a", { app: "x" })
        yield* c.patch("a", { data: { k: "v" } })
        yield* c.patch("a", { metadata: { labels: { app: "y" } } })
        yield* c.patch("unrelated", { metadata: { labels: { app: "x" } } })
        yield* c.remove("pre")
        yield* eventually(() => w.events.length >= 6, "six events")
        assert.deepStrictEqual(
          w.events.map((e) => `${e.type} ${e.name}`),
          ["ADDED pre", "ADDED a", "MODIFIED a", "DELETED a", "ADDED unrelated", "DELETED pre"]
        )
        assert.deepStrictEqual(w.events[2]?.object.data, { k: "v" })
        const rvs = w.events.slice(1).map((e) => Number(e.object.metadata.resourceVersion))
        assert.deepStrictEqual(
          rvs,
          [...rvs].sort((a, b) => a - b),
          "resource versions only grow"
        )
      })
    )
  )

  it.live("resumes from a resourceVersion with exactly the later changes, and answers 410 Expired when it is too old", () =>
    withFake(
      (fake, kc) =>
        Effect.gen(function* () {
          const c = cm(kc)
          const a = yield* c.create("a")
          yield* c.patch("a", { data: { x: "1" } })
          yield* c.create("b")
          const resumed = yield* watch(kc, CMS, { resourceVersion: a.metadata?.resourceVersion })
          yield* eventually(() => resumed.events.length >= 2, "replayed events")
          assert.deepStrictEqual(
            resumed.events.map((e) => `${e.type} ${e.name}`),
            ["MODIFIED a", "ADDED b"]
          )

          yield* c.create("c")
          yield* c.create("d")
          const old = yield* watch(kc, CMS, { resourceVersion: a.metadata?.resourceVersion })
          yield* eventually(() => old.ended, "the expired watch to end")
          assert.strictEqual(old.events.length, 1)
          assert.strictEqual(old.events[0]?.type, "ERROR")
          assert.strictEqual(old.events[0]?.object.code, 410)
          assert.strictEqual(old.events[0]?.object.reason, "Expired")
          assert.match(old.events[0]?.object.message, /^too old resource version: \d+ \(\d+\)$/)

          const recent = fake.resourceVersion()
          fake.compact()
          yield* c.create("e")
          const compacted = yield* watch(kc, CMS, { resourceVersion: String(Number(recent) - 1) })
          yield* eventually(() => compacted.ended, "the compacted watch to end")
          assert.strictEqual(compacted.events[0]?.object.code, 410)
          const fromNow = yield* watch(kc, CMS, { resourceVersion: fake.resourceVersion() })
          yield* c.create("f")
          yield* eventually(() => fromNow.events.length === 1, "a watch from the latest version")
          assert.strictEqual(fromNow.events[0]?.name, "f")
        }),
      { watchHistory: 3 }
    )
  )

  it.live("sends bookmarks with the latest resourceVersion, and ends at timeoutSeconds", () =>
    withFake(
      (fake, kc) =>
        Effect.gen(function* () {
          const w = yield* watch(kc, CMS, { allowWatchBookmarks: true, timeoutSeconds: 1 })
          yield* eventually(() => w.events.some((e) => e.type === "BOOKMARK"), "a bookmark")
          assert.strictEqual(w.events[0]?.object.metadata.resourceVersion, fake.resourceVersion())
          assert.strictEqual(w.events[0]?.object.kind, "ConfigMap")
          const created = yield* cm(kc).create("a")
          yield* eventually(
            () => w.events.some((e) => e.type === "BOOKMARK" && e.object.metadata.resourceVersion === created.metadata?.resourceVersion),
            "a later bookmark"
          )
          assert.isFalse(w.ended)
          yield* eventually(() => w.ended, "the timeout")
          assert.strictEqual(fake.openWatches(), 0)
        }),
      { bookmarkIntervalMs: 20 }
    )
  )

  it.live("feeds a makeInformer, which keeps working when the server closes its watch", () =>
    withFake((fake, kc) =>
      Effect.gen(function* () {
        const core = kc.makeApiClient(k8s.CoreV1Api)
        const c = cm(kc)
        yield* c.create("existing")
        const seen: Array<string> = []
        const informer = k8s.makeInformer(kc, CMS, () => core.listNamespacedConfigMap({ namespace: "default" }))
        informer.on("add", (o) => seen.push(`add ${o.metadata?.name}`))
        informer.on("update", (o) => seen.push(`update ${o.metadata?.name} ${JSON.stringify(o.data ?? {})}`))
        informer.on("delete", (o) => seen.push(`delete ${o.metadata?.name}`))
        yield* Effect.acquireRelease(
          call(() => informer.start()),
          () => call(() => informer.stop())
        )
        yield* eventually(() => fake.openWatches() === 1, "the informer's watch")
        yield* c.create("a")
        yield* c.patch("a", { data: { v: "1" } })
        yield* c.remove("existing")
        yield* eventually(() => seen.length >= 4, "four informer events")
        assert.deepStrictEqual(seen, ["add existing", "add a", 'update a {"v":"1"}', "delete existing"])
        assert.deepStrictEqual(
          informer.list("default").map((o) => o.metadata?.name),
          ["a"]
        )

        fake.closeWatches()
        yield* eventually(() => fake.requests().filter((r) => r.verb === "watch").length === 2, "the informer to watch again")
        yield* c.patch("a", { data: { v: "2" } })
        yield* eventually(() => seen.length === 5, "the update after the restart")
        assert.strictEqual(seen[4], 'update a {"v":"2"}')
        assert.deepStrictEqual(
          fake.requests().filter((r) => r.verb === "list").length,
          1,
          "it resumed from its resourceVersion without listing again"
        )
      })
    )
  )

  const MERGE_WINDOW_MS = 1_000
  it.live("drops and merges watch events when told to", () =>
    withFake(
      (fake, kc) =>
        Effect.gen(function* () {
          const c = cm(kc)
          const a = yield* c.create("a")
          const w = yield* watch(kc, CMS, { resourceVersion: a.metadata?.resourceVersion })
          fake.dropWatchEvents(1)
          yield* c.patch("a", { data: { v: "1" } })
          yield* c.patch("a", { data: { v: "2" } })
          yield* eventually(() => w.events.length >= 1, "the event after the dropped one")
          yield* Effect.sleep(20)
          assert.deepStrictEqual(
            w.events.map((e) => e.object.data),
            [{ v: "2" }]
          )
          const replay = yield* watch(kc, CMS, { resourceVersion: a.metadata?.resourceVersion })
          yield* eventually(() => replay.events.length >= 2, "the replay")
          assert.strictEqual(replay.events.length, 2, "a dropped event stays in the history")

          fake.mergeWatchEvents(true)
          const merged = yield* watch(kc, CMS, { resourceVersion: fake.resourceVersion() })
          yield* c.patch("a", { data: { v: "3" } })
          yield* c.patch("a", { data: { v: "4" } })
          yield* c.create("b")
          yield* c.patch("a", { data: { v: "5" } })
          yield* eventually(() => merged.events.length >= 2, "the merged events")
          // Past the window: nothing more comes. The window is wide so that four writes fall in it
          // even on a machine busy with other tests (a 30 ms one once split them).
          yield* Effect.sleep(MERGE_WINDOW_MS + 100)
          assert.deepStrictEqual(
            merged.events.map((e) => `${e.type} ${e.name} ${JSON.stringify(e.object.data ?? {})}`),
            ["ADDED b {}", 'MODIFIED a {"v":"5"}']
          )
        }),
      { mergeWindowMs: MERGE_WINDOW_MS }
    )
  )

  it.live("closes open watches when its scope closes", () =>
    Effect.gen(function* () {
      const ended = yield* withFake((_fake, kc) =>
        Effect.promise(async () => {
          let done = false
          await new k8s.Watch(kc).watch(
            CMS,
            {},
            () => undefined,
            () => {
              done = true
            }
          )
          return () => done
        })
      )
      yield* eventually(ended, "the watch to end with the server")
    })
  )
})

describe("FakeKubeApi: faults", () => {
  it.live("delays every request by the configured latency", () =>
    withFake(
      (fake, kc) =>
        Effect.gen(function* () {
          const core = kc.makeApiClient(k8s.CoreV1Api)
          const timed = Effect.gen(function* () {
            const start = Date.now()
            yield* call(() => core.readNamespace({ name: "default" }))
            return Date.now() - start
          })
          assert.isAtLeast(yield* timed, 120)
          fake.setLatency(0)
          assert.isBelow(yield* timed, 100)
        }),
      { latencyMs: 120 }
    )
  )

  it.live("fails the next requests with 429 and Retry-After, 500, 503 and 409, then recovers", () =>
    withFake((fake, kc) =>
      Effect.gen(function* () {
        const core = kc.makeApiClient(k8s.CoreV1Api)
        fake.failNext(1, { status: 429, retryAfterSeconds: 3 })
        const throttled = yield* failure(() => core.readNamespace({ name: "default" }))
        assert.strictEqual(throttled.code, 429)
        assert.strictEqual(throttled.headers["retry-after"], "3")
        assert.strictEqual(throttled.status.reason, "TooManyRequests")
        assert.strictEqual(throttled.status.details.retryAfterSeconds, 3)
        assert.strictEqual((yield* call(() => core.readNamespace({ name: "default" }))).metadata?.name, "default")

        fake.failNext(2, { status: 500, match: (r) => r.verb === "create" })
        yield* call(() => core.listNamespacedConfigMap({ namespace: "default" }))
        const e1 = yield* failure(() => core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "a" } } }))
        const e2 = yield* failure(() => core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "a" } } }))
        assert.deepStrictEqual([e1.code, e1.status.reason, e2.code], [500, "InternalError", 500])
        yield* call(() => core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "a" } } }))
        assert.isDefined(fake.get("v1", "ConfigMap", "default", "a"))

        fake.failNext(1, { status: 503 })
        fake.failNext(1, { status: 409 })
        const unavailable = yield* failure(() => core.readNamespacedConfigMap({ name: "a", namespace: "default" }))
        const conflict = yield* failure(() =>
          core.replaceNamespacedConfigMap({ name: "a", namespace: "default", body: { metadata: { name: "a" } } })
        )
        assert.deepStrictEqual([unavailable.code, unavailable.status.reason], [503, "ServiceUnavailable"])
        assert.deepStrictEqual(
          [conflict.code, conflict.status.message],
          [
            409,
            'Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply your changes to the latest version and try again'
          ]
        )

        fake.failNext(1, { status: 500, afterServing: true, match: (r) => r.verb === "create" })
        const lost = yield* failure(() => core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "b" } } }))
        assert.strictEqual(lost.code, 500)
        assert.isDefined(fake.get("v1", "ConfigMap", "default", "b"), "the write happened although the client saw a failure")
        const retried = yield* failure(() => core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "b" } } }))
        assert.strictEqual(retried.status.reason, "AlreadyExists", "so a naive retry meets its own write")

        fake.failNext(1, { status: "disconnect", afterServing: true, match: (r) => r.verb === "delete" })
        const cut = yield* Effect.flip(
          Effect.tryPromise({ try: () => core.deleteNamespacedConfigMap({ name: "b", namespace: "default" }), catch: (e) => e })
        )
        assert.notInstanceOf(cut, k8s.ApiException, "no HTTP answer at all")
        assert.match(String(cut), /fetch failed|socket|ECONNRESET/i)
        assert.isUndefined(fake.get("v1", "ConfigMap", "default", "b"), "yet the delete was carried out")

        fake.failNext(1, { status: 503, match: (r) => r.verb === "watch" })
        const w = yield* watch(kc, CMS)
        yield* eventually(() => w.ended, "the failed watch")
        assert.strictEqual((w.error as { statusCode?: number }).statusCode, 503)
        assert.deepStrictEqual(
          fake
            .requests()
            .filter((r) => r.resource === "configmaps")
            .map((r) => r.verb),
          ["list", "create", "create", "create", "get", "update", "create", "create", "delete", "watch"],
          "failed requests are logged too"
        )
      })
    )
  )
})
