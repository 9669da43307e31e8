import * as http from "node:http"
import type { AddressInfo } from "node:net"
import type * as K8s from "@kubernetes/client-node"
import { Context, Effect, Layer } from "effect"
import { Controllers } from "./Controllers.ts"
import { type FailureOptions, Faults } from "./Faults.ts"
import { clone, type KubeObject } from "./Json.ts"
import { Lifecycle } from "./Lifecycle.ts"
import { ObjectStore } from "./ObjectStore.ts"
import { type FakeKubeResource, Resources, type ResourceType } from "./Resources.ts"
import type { FakeKubeRequest } from "./Router.ts"
import { labelsOf, matchesLabels, parseLabelSelector } from "./Selectors.ts"
import { handler } from "./Server.ts"
import { Validator } from "./Validation.ts"
import { WatchHub } from "./Watch.ts"

export type { FailureOptions } from "./Faults.ts"
export type { KubeObject } from "./Json.ts"
export type { FakeKubeResource } from "./Resources.ts"
export type { FakeKubeRequest, KubeVerb } from "./Router.ts"
export { MUTATING_VERBS } from "./Router.ts"

export interface FakeKubeApiOptions {
  /** Delay before every request is served, in milliseconds (default 0). */
  readonly latencyMs?: number
  /** Resource types to serve besides the built-in ones, e.g. custom resources. */
  readonly resources?: ReadonlyArray<FakeKubeResource>
  /** Validate writes of built-in kinds against their schemas with kubernetes-models (default true). Names and labels are always checked. */
  readonly validate?: boolean
  /** Namespaces that exist from the start (default: default, kube-system, kube-public, kube-node-lease). */
  readonly namespaces?: ReadonlyArray<string>
  /** How many changes watches can resume from before they get 410 Expired (default 10,000). */
  readonly watchHistory?: number
  /** How often watches that allow bookmarks get one, besides the one sent when they start (default 1,000 ms). */
  readonly bookmarkIntervalMs?: number
  /** How long merged watch events wait for later changes to the same object (default 50 ms). */
  readonly mergeWindowMs?: number
  /**
   * Run stand-ins for a cluster's controllers (default false): Deployments and StatefulSets report
   * every replica available, PersistentVolumeClaims bind, bare Pods run, LoadBalancer Services get
   * an address, each right after the write that calls for it.
   */
  readonly controllers?: boolean
}

/** An object by identity; `namespace` is ignored for cluster-scoped kinds. */
export interface KubeObjectRef {
  readonly apiVersion: string
  readonly kind: string
  readonly namespace?: string
  readonly name: string
}

export interface ObjectFilter {
  readonly apiVersion?: string
  readonly kind?: string
  readonly namespace?: string
  /** In the syntax of the `labelSelector` query parameter. */
  readonly labelSelector?: string
}

/**
 * A fake kube-apiserver on loopback HTTP for tests, which the real `@kubernetes/client-node` and
 * `kubectl` talk to unchanged. Every object it hands out is a copy.
 */
export class FakeKubeApi extends Context.Service<
  FakeKubeApi,
  {
    /** `http://127.0.0.1:<port>`. */
    readonly url: string
    /** A client-node KubeConfig for this server (needs `@kubernetes/client-node`). */
    readonly kubeConfig: (options?: { readonly namespace?: string; readonly token?: string }) => K8s.KubeConfig
    /** Every request received so far, in arrival order. */
    readonly requests: () => ReadonlyArray<FakeKubeRequest>
    readonly resetRequests: () => void
    readonly objects: (filter?: ObjectFilter) => ReadonlyArray<KubeObject>
    readonly get: (apiVersion: string, kind: string, namespace: string | undefined, name: string) => KubeObject | undefined
    /** Creates an object without HTTP, as `fieldManager` (default "kubectl"); status is kept, validation skipped. */
    readonly seed: (obj: KubeObject, options?: { readonly fieldManager?: string }) => KubeObject
    /**
     * Changes an object behind the back of whatever controls it, as another field manager (default
     * "kubectl"): a new resourceVersion and a watch event when something changed. `change` edits
     * the copy it gets in place or returns a replacement. Status may change; validation is skipped.
     */
    readonly mutate: (
      ref: KubeObjectRef,
      // biome-ignore lint/suspicious/noConfusingVoidType: callers mostly edit in place and return nothing.
      change: (obj: KubeObject) => KubeObject | void,
      options?: { readonly fieldManager?: string }
    ) => KubeObject
    /** Deletes an object as a DELETE would (finalizers hold it), or at once with `ignoreFinalizers`. */
    readonly remove: (ref: KubeObjectRef, options?: { readonly ignoreFinalizers?: boolean }) => void
    /** The latest resourceVersion. */
    readonly resourceVersion: () => string
    readonly setLatency: (ms: number) => void
    /**
     * The next `count` requests that `options.match` accepts (default: resource requests) fail
     * with `options.status`, before they are served or, with `afterServing`, after.
     */
    readonly failNext: (count: number, options: FailureOptions) => void
    /** The next `n` changes reach no watch (they stay in the history a watch resumes from). */
    readonly dropWatchEvents: (n: number) => void
    /** While enabled, a watch gets only the last of several quick changes to one object. */
    readonly mergeWatchEvents: (enabled: boolean) => void
    /** Ends every open watch, as an apiserver restart does. */
    readonly closeWatches: () => void
    readonly openWatches: () => number
    /** Forgets the watch history, as an etcd compaction does: resuming from before now gets 410. */
    readonly compact: () => void
    /** Waits until the fake's own controllers (garbage collector, namespace cleanup, `controllers`) have nothing left to do. */
    readonly settle: Effect.Effect<void>
  }
>()("@clawfleet/core/testing/FakeKubeApi") {
  /** Starts the server on 127.0.0.1 and a free port; closing the scope closes it and every connection. */
  static layer(options: FakeKubeApiOptions = {}): Layer.Layer<FakeKubeApi> {
    return Layer.effect(FakeKubeApi, make(options))
  }
}

const DEFAULT_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"]

// A computed specifier: bundlers leave it alone, and the testing entry point works without the client installed.
const CLIENT_NODE = "@kubernetes/client-node"

const make = (options: FakeKubeApiOptions) =>
  Effect.gen(function* () {
    const k8s = yield* Effect.promise(() => import(CLIENT_NODE).then((m: typeof K8s) => m).catch(() => undefined))
    const resources = new Resources(options.resources)
    const validator = new Validator(options.validate ?? true)
    const faults = new Faults(options.latencyMs ?? 0)
    const lifecycle = new Lifecycle()
    let store: ObjectStore | undefined
    const hub = new WatchHub({
      historyLimit: options.watchHistory ?? 10_000,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1_000,
      mergeWindowMs: options.mergeWindowMs ?? 50,
      currentRv: () => store?.currentRv() ?? 0
    })
    let controllers: Controllers | undefined
    store = new ObjectStore(resources, validator, {
      publish: (event) => {
        hub.publish(event)
        controllers?.observe(event)
      },
      removed: (rt, obj) => lifecycle.removed(rt, obj)
    })
    const s = store
    lifecycle.attach(s)
    if (options.controllers) controllers = new Controllers(s, lifecycle)
    for (const name of options.namespaces ?? DEFAULT_NAMESPACES) {
      s.create(resources.namespace(), { apiVersion: "v1", kind: "Namespace", metadata: { name } }, { manager: "kube-apiserver" })
    }
    const log: Array<FakeKubeRequest> = []

    const server = yield* Effect.acquireRelease(
      Effect.callback<http.Server>((resume) => {
        const srv = http.createServer(handler({ resources, store: s, lifecycle, hub, validator, faults, log }))
        srv.listen(0, "127.0.0.1", () => resume(Effect.succeed(srv)))
      }),
      (srv) =>
        Effect.callback<void>((resume) => {
          lifecycle.close()
          hub.closeAll()
          srv.closeAllConnections()
          srv.close(() => resume(Effect.void))
        })
    )
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

    const typeOf = (apiVersion: string, kind: string): ResourceType => {
      const rt = resources.byKind(apiVersion, kind)
      if (rt === undefined) throw new Error(`FakeKubeApi serves no ${kind} in ${apiVersion}`)
      return rt
    }
    const existing = (ref: KubeObjectRef) => {
      const rt = typeOf(ref.apiVersion, ref.kind)
      const obj = s.get(rt, ref.namespace, ref.name)
      if (obj === undefined) throw new Error(`FakeKubeApi has no ${ref.kind} ${ref.namespace ?? ""}/${ref.name}`)
      return { rt, obj }
    }

    return FakeKubeApi.of({
      url,
      kubeConfig: (kcOptions = {}) => {
        if (k8s === undefined) throw new Error("FakeKubeApi.kubeConfig needs @kubernetes/client-node")
        const kc = new k8s.KubeConfig()
        kc.loadFromOptions({
          clusters: [{ name: "fake", server: url, skipTLSVerify: true }],
          users: [{ name: "fake", token: kcOptions.token ?? "fake-token" }],
          contexts: [{ name: "fake", cluster: "fake", user: "fake", namespace: kcOptions.namespace ?? "default" }],
          currentContext: "fake"
        })
        return kc
      },
      requests: () => [...log],
      resetRequests: () => {
        log.length = 0
      },
      objects: (filter = {}) => {
        const selector = parseLabelSelector(filter.labelSelector)
        return resources.all
          .filter(
            (rt) =>
              (filter.apiVersion === undefined || rt.apiVersion === filter.apiVersion) &&
              (filter.kind === undefined || rt.kind === filter.kind)
          )
          .flatMap((rt) => s.list(rt, rt.namespaced ? filter.namespace : undefined))
          .filter(
            (o) => matchesLabels(selector, labelsOf(o)) && (filter.namespace === undefined || o.metadata?.namespace === filter.namespace)
          )
          .map(clone)
      },
      get: (apiVersion, kind, namespace, name) => {
        const obj = s.get(typeOf(apiVersion, kind), namespace, name)
        return obj === undefined ? undefined : clone(obj)
      },
      seed: (obj, seedOptions = {}) => {
        const rt = typeOf(obj.apiVersion ?? "", obj.kind ?? "")
        const body = s.envelope(rt, obj, obj.metadata?.namespace, undefined)
        return clone(s.create(rt, body, { manager: seedOptions.fieldManager ?? "kubectl", direct: true }))
      },
      mutate: (ref, change, mutateOptions = {}) => {
        const { rt, obj } = existing(ref)
        const draft = clone(obj)
        const next = s.envelope(rt, change(draft) ?? draft, obj.metadata?.namespace, obj.metadata?.name)
        return clone(s.updateAs(rt, obj, next, { manager: mutateOptions.fieldManager ?? "kubectl", direct: true }))
      },
      remove: (ref, removeOptions = {}) => {
        const { rt, obj } = existing(ref)
        lifecycle.delete(rt, obj.metadata?.namespace, ref.name, { ignoreFinalizers: removeOptions.ignoreFinalizers ?? false })
      },
      resourceVersion: () => String(s.currentRv()),
      setLatency: (ms) => {
        faults.latencyMs = ms
      },
      failNext: (count, failure) => faults.failNext(count, failure),
      dropWatchEvents: (n) => hub.dropNext(n),
      mergeWatchEvents: (enabled) => hub.merge(enabled),
      closeWatches: () => hub.closeAll(),
      openWatches: () => hub.open,
      compact: () => hub.compact(),
      settle: Effect.gen(function* () {
        while (lifecycle.busy) yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      })
    })
  })
