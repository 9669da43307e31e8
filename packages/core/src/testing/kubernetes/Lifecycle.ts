import { clone, type KubeObject, metaOf, timestamp } from "./Json.ts"
import { readEntries } from "./ManagedFields.ts"
import type { ObjectStore } from "./ObjectStore.ts"
import type { ResourceType } from "./Resources.ts"
import { conflict, notFound } from "./Status.ts"

/**
 * Deletion as the apiserver and its controllers carry it out: finalizers hold an object with a
 * deletionTimestamp until they are emptied; the garbage collector follows ownerReferences
 * (Background, Foreground, Orphan); the namespace controller empties a terminating namespace and
 * then removes it. The controllers' work runs soon after the request, in `setImmediate` order.
 */

export type PropagationPolicy = "Background" | "Foreground" | "Orphan"

export interface DeleteOptions {
  readonly propagationPolicy?: PropagationPolicy
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string }
  readonly dryRun?: boolean
  /** For tests: remove now, finalizers or not. */
  readonly ignoreFinalizers?: boolean
}

const FOREGROUND = "foregroundDeletion"
const CONTROLLER = "kube-controller-manager"

export class Lifecycle {
  private store: ObjectStore | undefined
  private pending = 0
  private closed = false

  attach(store: ObjectStore): void {
    this.store = store
  }

  private get s(): ObjectStore {
    return this.store!
  }

  close(): void {
    this.closed = true
  }

  /** Whether controller work is still queued. */
  get busy(): boolean {
    return this.pending > 0
  }

  /** Runs a controller's `task` soon, unless the server has closed; `settle` waits for it. */
  schedule(task: () => void): void {
    this.pending++
    setImmediate(() => {
      this.pending--
      if (this.closed) return
      try {
        task()
      } catch {
        // A controller loses a race (the object changed or went away); the next event retries.
      }
    })
  }

  delete(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {}
  ): { object: KubeObject; removed: boolean } {
    const s = this.s
    const obj = s.get(rt, namespace, name)
    if (obj === undefined) throw notFound(s.target(rt, name))
    const meta = metaOf(obj)
    const pre = options.preconditions
    if (pre?.uid !== undefined && pre.uid !== meta.uid) {
      throw conflict(s.target(rt, name), `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid}`)
    }
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== meta.resourceVersion) {
      throw conflict(
        s.target(rt, name),
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`
      )
    }
    if (options.dryRun) return { object: obj, removed: false }
    if (options.ignoreFinalizers) return { object: s.removeNow(rt, obj), removed: true }
    const isNamespace = rt === s.resources.namespace()
    const policy = options.propagationPolicy ?? "Background"
    if (policy === "Orphan") this.orphanDependents(meta.uid ?? "")
    const foreground = policy === "Foreground" && this.dependents(meta.uid ?? "").length > 0
    const finalizers = [...(meta.finalizers ?? []), ...(foreground && !(meta.finalizers ?? []).includes(FOREGROUND) ? [FOREGROUND] : [])]
    if (finalizers.length === 0 && !isNamespace) return { object: s.removeNow(rt, obj), removed: true }
    if (meta.deletionTimestamp !== undefined) return { object: obj, removed: false }
    const next = clone(obj)
    const nextMeta = metaOf(next)
    nextMeta.deletionTimestamp = timestamp()
    nextMeta.deletionGracePeriodSeconds = 0
    nextMeta.finalizers = finalizers
    if (rt.generation) nextMeta.generation = (meta.generation ?? 0) + 1
    if (isNamespace) next.status = { ...(next.status as object), phase: "Terminating" }
    const marked = s.update(rt, obj, next, { manager: CONTROLLER, direct: true }, () => readEntries(obj))
    if (isNamespace) this.schedule(() => this.drainNamespace(name))
    if (foreground) this.schedule(() => this.collect(meta.uid ?? ""))
    return { object: marked, removed: false }
  }

  /** What the store calls once an object is gone. */
  removed(rt: ResourceType, obj: KubeObject): void {
    const meta = metaOf(obj)
    const uid = meta.uid ?? ""
    if (this.dependents(uid).length > 0) this.schedule(() => this.collect(uid))
    for (const ref of meta.ownerReferences ?? []) {
      const owner = this.store?.byUidOf(ref.uid)
      if (owner?.metadata?.finalizers?.includes(FOREGROUND)) this.schedule(() => this.finishForeground(ref.uid))
    }
    const ns = meta.namespace
    if (rt.namespaced && ns !== undefined) this.schedule(() => this.finalizeNamespace(ns))
  }

  private dependents(uid: string): Array<{ rt: ResourceType; obj: KubeObject }> {
    if (uid === "" || this.store === undefined) return []
    const s = this.store
    return s.resources.all.flatMap((rt) =>
      s
        .list(rt)
        .filter((o) => (o.metadata?.ownerReferences ?? []).some((r) => r.uid === uid))
        .map((obj) => ({ rt, obj }))
    )
  }

  private dropOwner(rt: ResourceType, obj: KubeObject, uid: string): void {
    const next = clone(obj)
    const meta = metaOf(next)
    meta.ownerReferences = (meta.ownerReferences ?? []).filter((r) => r.uid !== uid)
    if (meta.ownerReferences.length === 0) delete meta.ownerReferences
    this.s.updateAs(rt, obj, next, { manager: CONTROLLER, direct: true })
  }

  private orphanDependents(uid: string): void {
    for (const { rt, obj } of this.dependents(uid)) this.dropOwner(rt, obj, uid)
  }

  // The garbage collector: a dependent whose owners are all gone is deleted; one with a live owner left only loses the reference.
  private collect(uid: string): void {
    for (const { rt, obj } of this.dependents(uid)) {
      const others = (obj.metadata?.ownerReferences ?? []).filter((r) => r.uid !== uid && this.s.byUidOf(r.uid) !== undefined)
      const ownerGone = this.s.byUidOf(uid) === undefined
      if (others.length > 0 && ownerGone) this.dropOwner(rt, obj, uid)
      else if (others.length === 0 && obj.metadata?.deletionTimestamp === undefined) {
        this.delete(rt, obj.metadata?.namespace, obj.metadata?.name ?? "", { propagationPolicy: "Background" })
      }
    }
  }

  private finishForeground(uid: string): void {
    const owner = this.s.byUidOf(uid)
    if (owner === undefined || this.dependents(uid).length > 0) return
    const rt = this.s.resources.byKind(owner.apiVersion ?? "", owner.kind ?? "")
    if (rt === undefined) return
    const next = clone(owner)
    metaOf(next).finalizers = (next.metadata?.finalizers ?? []).filter((f) => f !== FOREGROUND)
    this.s.updateAs(rt, owner, next, { manager: CONTROLLER, direct: true })
  }

  private drainNamespace(namespace: string): void {
    for (const rt of this.s.resources.all) {
      if (!rt.namespaced) continue
      for (const obj of this.s.list(rt, namespace)) {
        if (obj.metadata?.deletionTimestamp === undefined) this.delete(rt, namespace, obj.metadata?.name ?? "")
      }
    }
    this.finalizeNamespace(namespace)
  }

  // The namespace controller's last step: once nothing is left in it, drop the "kubernetes" finalizer so the namespace goes.
  private finalizeNamespace(namespace: string): void {
    const nsRt = this.s.resources.namespace()
    const ns = this.s.get(nsRt, undefined, namespace)
    if (ns?.metadata?.deletionTimestamp === undefined) return
    if (this.s.resources.all.some((rt) => rt.namespaced && this.s.list(rt, namespace).length > 0)) return
    const next = clone(ns)
    next.spec = { finalizers: [] }
    this.s.updateAs(nsRt, ns, next, { manager: CONTROLLER, direct: true })
  }
}
