import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node"
import { Context, Effect, Layer } from "effect"
import { ProviderError } from "../provider/ProviderError.ts"
import { KubeClient } from "./KubeClient.ts"
import { type Kind, type KubeObject, Labels, listPath, objectKey, ownedSelector } from "./KubeObject.ts"

/**
 * Every object clawfleet owns, kept current by one list-and-watch per kind: a resync of the
 * whole fleet reads memory, not one GET per object. Writes of our own are recorded as they
 * return, so a pass sees what it just applied before the watch event arrives; an event never
 * replaces a newer version with an older one.
 */
export class KubeCache extends Context.Service<
  KubeCache,
  {
    /** The tenant's objects of every watched kind. */
    readonly tenantObjects: (tenant: string) => ReadonlyArray<KubeObject>
    /** Records what a write returned. */
    readonly record: (object: KubeObject) => void
    /** Records that an object is gone. */
    readonly forget: (object: {
      readonly kind: string
      readonly metadata: { readonly name: string; readonly namespace?: string | undefined }
    }) => void
    readonly size: () => number
  }
>()("@clawfleet/core/kubernetes/KubeCache") {
  /**
   * Starts watching `kinds` cluster-wide (objects labelled as clawfleet's only) and waits for the
   * first full list of each; stops the watches when the scope closes.
   */
  static readonly layer = (options: { readonly kubeConfig: KubeConfig; readonly kinds: ReadonlyArray<Kind>; readonly provider: string }) =>
    Layer.effect(KubeCache, makeKubeCache(options))
}

// Resource versions are opaque to clients, but every server we know hands out increasing integers;
// when both parse, the larger is newer, and otherwise the later write wins.
const newer = (a: KubeObject, b: KubeObject | undefined) => {
  if (b === undefined) return true
  const x = Number(a.metadata.resourceVersion)
  const y = Number(b.metadata.resourceVersion)
  return !(Number.isSafeInteger(x) && Number.isSafeInteger(y)) || x >= y
}

const makeKubeCache = (options: { readonly kubeConfig: KubeConfig; readonly kinds: ReadonlyArray<Kind>; readonly provider: string }) =>
  Effect.gen(function* () {
    const k8s = yield* Effect.promise(() => import("@kubernetes/client-node"))
    const client = yield* KubeClient
    const byTenant = new Map<string, Map<string, KubeObject>>()
    // Deletions we saw, by key and version, so a late ADDED/MODIFIED event cannot resurrect them.
    // Late events arrive within moments; tombstones beyond the newest 10,000 are forgotten.
    const gone = new Map<string, number>()
    const TOMBSTONES = 10_000
    let count = 0

    const tenantOf = (o: KubeObject) => o.metadata.labels?.[Labels.tenant]
    const put = (o: KubeObject) => {
      const tenant = tenantOf(o)
      if (tenant === undefined) return
      const key = objectKey(o)
      const deletedAt = gone.get(key)
      if (deletedAt !== undefined && Number(o.metadata.resourceVersion) <= deletedAt) return
      gone.delete(key)
      let objects = byTenant.get(tenant)
      if (objects === undefined) byTenant.set(tenant, (objects = new Map()))
      const before = objects.get(key)
      if (!newer(o, before)) return
      if (before === undefined) count++
      objects.set(key, o)
    }
    const drop = (o: { readonly kind: string; readonly metadata: KubeObject["metadata"] }) => {
      const key = objectKey(o)
      const rv = Number(o.metadata.resourceVersion)
      if (Number.isSafeInteger(rv)) {
        gone.delete(key)
        gone.set(key, rv)
        if (gone.size > TOMBSTONES) gone.delete(gone.keys().next().value!)
      }
      for (const [tenant, objects] of byTenant) {
        if (objects.delete(key)) {
          count--
          if (objects.size === 0) byTenant.delete(tenant)
        }
      }
    }

    const selector = ownedSelector()
    const informers = options.kinds.map((kind) => {
      const informer = k8s.makeInformer<KubernetesObject>(
        options.kubeConfig,
        listPath(kind),
        () =>
          Effect.runPromise(client.list(kind, selector)).then((list) => ({
            apiVersion: "v1",
            kind: `${kind}List`,
            metadata: { resourceVersion: list.resourceVersion },
            items: list.items.map((o) => ({ ...o, kind })) as unknown as Array<KubernetesObject>
          })),
        selector
      )
      // Items of a list and watch events carry no kind; the informer is per kind, so add it back.
      const withKind = (o: KubernetesObject) => ({ ...o, kind }) as unknown as KubeObject
      informer.on("add", (o) => put(withKind(o)))
      informer.on("update", (o) => put(withKind(o)))
      informer.on("delete", (o) => drop(withKind(o)))
      return { kind, informer }
    })

    // A failed list or watch stops an informer; start it again after a pause, until the scope ends.
    let stopped = false
    for (const { informer } of informers) {
      informer.on("error", () => {
        if (!stopped) setTimeout(() => void (stopped ? undefined : informer.start().catch(() => undefined)), 1000).unref()
      })
    }
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        stopped = true
        await Promise.all(informers.map(({ informer }) => informer.stop()))
      })
    )
    yield* Effect.forEach(
      informers,
      ({ kind, informer }) =>
        Effect.tryPromise({
          try: () => informer.start(),
          catch: (cause) =>
            new ProviderError({
              reason: "Unavailable",
              provider: options.provider,
              detail: `cannot list and watch ${kind}: ${String(cause)}`,
              cause
            })
        }),
      { discard: true }
    )

    return KubeCache.of({
      tenantObjects: (tenant) => [...(byTenant.get(tenant)?.values() ?? [])],
      record: put,
      forget: drop,
      size: () => count
    })
  })
