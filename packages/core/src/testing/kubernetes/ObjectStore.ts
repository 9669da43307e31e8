import { randomUUID } from "node:crypto"
import { clone, deepEqual, deepFreeze, isRecord, type KubeObject, metaOf, timestamp } from "./Json.ts"
import { apply, type Entry, readEntries, recordUpdate, sameOwnership, writeEntries } from "./ManagedFields.ts"
import type { Resources, ResourceType } from "./Resources.ts"
import {
  alreadyExists,
  badRequest,
  fieldForbidden,
  forbidden,
  invalid,
  modified,
  notFound,
  type StatusCause,
  type Target
} from "./Status.ts"
import type { Validator } from "./Validation.ts"
import type { StoreEvent } from "./Watch.ts"

/**
 * The objects, one global resourceVersion counter, and the write pipeline every change goes
 * through: server-owned metadata, validation, generation, managed fields, no-op detection, and
 * a watch event. Writes are synchronous, so each is atomic with respect to the others.
 */

export interface WriteContext {
  readonly manager: string
  readonly dryRun?: boolean
  /** A test editing the store behind the API: may write status, and skips validation. */
  readonly direct?: boolean
}

export interface StoreHooks {
  readonly publish: (event: StoreEvent) => void
  /** Called after an object is gone, for garbage collection and namespace finalization. */
  readonly removed: (rt: ResourceType, obj: KubeObject) => void
}

const GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

// Everything but metadata and status: what `metadata.generation` counts changes of.
const specOf = (obj: KubeObject) => {
  const { apiVersion: _a, kind: _k, metadata: _m, status: _s, ...rest } = obj
  return rest
}

export class ObjectStore {
  private rv = 0
  private readonly data = new Map<ResourceType, Map<string, KubeObject>>()
  private readonly byUid = new Map<string, { readonly rt: ResourceType; readonly key: string }>()
  private random = 0x2545f491
  private services = 0
  readonly resources: Resources
  private readonly validator: Validator
  private readonly hooks: StoreHooks

  constructor(resources: Resources, validator: Validator, hooks: StoreHooks) {
    this.resources = resources
    this.validator = validator
    this.hooks = hooks
  }

  currentRv(): number {
    return this.rv
  }

  target(rt: ResourceType, name: string): Target {
    return { group: rt.group, resource: rt.plural, name }
  }

  private table(rt: ResourceType): Map<string, KubeObject> {
    let t = this.data.get(rt)
    if (!t) this.data.set(rt, (t = new Map()))
    return t
  }

  private key(rt: ResourceType, namespace: string | undefined, name: string): string {
    return `${rt.namespaced ? (namespace ?? "") : ""}/${name}`
  }

  get(rt: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.table(rt).get(this.key(rt, namespace, name))
  }

  byUidOf(uid: string): KubeObject | undefined {
    const at = this.byUid.get(uid)
    return at === undefined ? undefined : this.table(at.rt).get(at.key)
  }

  /** Ordered by namespace, then name, as etcd keys are. */
  list(rt: ResourceType, namespace?: string): Array<KubeObject> {
    return [...this.table(rt).entries()]
      .filter(([, o]) => namespace === undefined || o.metadata?.namespace === namespace)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => o)
  }

  private generateName(prefix: string): string {
    let suffix = ""
    for (let i = 0; i < 5; i++) {
      // xorshift: names differ between calls yet repeat from run to run.
      this.random ^= this.random << 13
      this.random ^= this.random >>> 17
      this.random ^= this.random << 5
      suffix += GENERATE_ALPHABET[(this.random >>> 0) % GENERATE_ALPHABET.length]
    }
    return `${prefix}${suffix}`
  }

  /** A copy of a request body with the envelope checked against the URL. */
  envelope(rt: ResourceType, body: unknown, namespace: string | undefined, name: string | undefined): KubeObject {
    if (!isRecord(body)) throw badRequest("the body of the request must be a JSON object")
    const obj = clone(body) as KubeObject
    if ((obj.apiVersion !== undefined && obj.apiVersion !== rt.apiVersion) || (obj.kind !== undefined && obj.kind !== rt.kind)) {
      throw badRequest(`${String(obj.kind)} in version "${String(obj.apiVersion)}" cannot be handled as a ${rt.kind}`)
    }
    obj.apiVersion = rt.apiVersion
    obj.kind = rt.kind
    const meta = metaOf(obj)
    if (name !== undefined && meta.name !== undefined && meta.name !== name) {
      throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`)
    }
    if (rt.namespaced && meta.namespace !== undefined && meta.namespace !== namespace) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request")
    }
    if (name !== undefined) meta.name = name
    if (rt.namespaced && namespace !== undefined) meta.namespace = namespace
    if (!rt.namespaced) delete meta.namespace
    return obj
  }

  // What the apiserver's strategies do to every write of these kinds.
  private normalize(rt: ResourceType, obj: KubeObject, old: KubeObject | undefined): void {
    const meta = metaOf(obj)
    if (rt.group !== "") return
    if (rt.kind === "Namespace") meta.labels = { ...meta.labels, "kubernetes.io/metadata.name": meta.name ?? "" }
    if (rt.kind === "Secret") {
      if (isRecord(obj.stringData)) {
        const data: Record<string, unknown> = isRecord(obj.data) ? { ...obj.data } : {}
        for (const [k, v] of Object.entries(obj.stringData)) data[k] = Buffer.from(String(v)).toString("base64")
        obj.data = data
      }
      delete obj.stringData
      obj.type ??= "Opaque"
    }
    if (rt.kind === "Service" && isRecord(obj.spec) && obj.spec.type !== "ExternalName" && obj.spec.clusterIP === undefined) {
      const previous = isRecord(old?.spec) ? old.spec : undefined
      const n = this.services
      const ip = previous?.clusterIP ?? `10.96.${Math.floor(n / 250)}.${(n % 250) + 1}`
      if (previous?.clusterIP === undefined) this.services++
      obj.spec = { ...obj.spec, clusterIP: ip, clusterIPs: previous?.clusterIPs ?? [ip] }
    }
  }

  private check(
    rt: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
    ctx: WriteContext,
    extra: ReadonlyArray<StatusCause> = []
  ): void {
    const causes = [...extra, ...(ctx.direct ? [] : this.validator.causes(rt, obj, old))]
    if (causes.length > 0) throw invalid(rt.kind, rt.group, obj.metadata?.name ?? "", causes)
  }

  private commit(rt: ResourceType, obj: KubeObject, type: "ADDED" | "MODIFIED", previous?: KubeObject): KubeObject {
    const meta = metaOf(obj)
    meta.resourceVersion = String(++this.rv)
    deepFreeze(obj)
    this.table(rt).set(this.key(rt, meta.namespace, meta.name ?? ""), obj)
    this.byUid.set(meta.uid ?? "", { rt, key: this.key(rt, meta.namespace, meta.name ?? "") })
    this.hooks.publish({ rv: this.rv, type, rt, object: obj, ...(previous === undefined ? {} : { previous }) })
    return obj
  }

  /** Removes `obj` now, whatever its finalizers: the last step of every deletion. */
  removeNow(rt: ResourceType, obj: KubeObject): KubeObject {
    const gone = clone(obj)
    const meta = metaOf(gone)
    meta.resourceVersion = String(++this.rv)
    this.table(rt).delete(this.key(rt, meta.namespace, meta.name ?? ""))
    this.byUid.delete(meta.uid ?? "")
    deepFreeze(gone)
    this.hooks.publish({ rv: this.rv, type: "DELETED", rt, object: gone })
    this.hooks.removed(rt, gone)
    return gone
  }

  /** Whether an object being deleted may go: no finalizers left (for a namespace, none in its spec either). */
  canRemove(rt: ResourceType, obj: KubeObject): boolean {
    const spec = isRecord(obj.spec) ? obj.spec : {}
    const specFinalizers = rt === this.resources.namespace() && Array.isArray(spec.finalizers) ? spec.finalizers : []
    return (obj.metadata?.finalizers ?? []).length === 0 && specFinalizers.length === 0
  }

  private checkNamespace(rt: ResourceType, obj: KubeObject): void {
    const namespace = obj.metadata?.namespace
    if (!rt.namespaced) return
    if (namespace === undefined || namespace === "") throw badRequest("the namespace of the object is required")
    const ns = this.get(this.resources.namespace(), undefined, namespace)
    if (ns === undefined) throw notFound({ group: "", resource: "namespaces", name: namespace })
    if (ns.metadata?.deletionTimestamp !== undefined) {
      throw forbidden(
        this.target(rt, obj.metadata?.name ?? ""),
        `unable to create new content in namespace ${namespace} because it is being terminated`,
        [{ reason: "NamespaceTerminating", message: `namespace ${namespace} is being terminated`, field: "metadata.namespace" }]
      )
    }
  }

  /** Stores a new object; `ownership` gives its managed fields once the server has filled it in. */
  create(rt: ResourceType, obj: KubeObject, ctx: WriteContext, ownership?: (obj: KubeObject) => ReadonlyArray<Entry>): KubeObject {
    const meta = metaOf(obj)
    if ((meta.name === undefined || meta.name === "") && typeof meta.generateName === "string" && meta.generateName !== "") {
      do meta.name = this.generateName(meta.generateName)
      while (this.get(rt, meta.namespace, meta.name) !== undefined)
    }
    this.checkNamespace(rt, obj)
    const entries = ownership
      ? ownership(obj)
      : recordUpdate([], undefined, obj, rt, { manager: ctx.manager, apiVersion: rt.apiVersion, time: timestamp() })
    for (const k of ["resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"]) delete meta[k]
    meta.uid = randomUUID()
    meta.creationTimestamp = timestamp()
    if (rt.generation) meta.generation = 1
    else delete meta.generation
    if (rt.statusSubresource && !ctx.direct) delete obj.status
    if (rt === this.resources.namespace()) {
      obj.spec = { finalizers: ["kubernetes"] }
      obj.status = { phase: "Active" }
    }
    if (rt.group === "" && rt.kind === "Pod" && !ctx.direct) obj.status = { phase: "Pending" }
    this.normalize(rt, obj, undefined)
    this.check(rt, obj, undefined, ctx)
    if (this.get(rt, meta.namespace, meta.name ?? "") !== undefined) throw alreadyExists(this.target(rt, meta.name ?? ""))
    meta.managedFields = writeEntries(entries)
    return ctx.dryRun ? obj : this.commit(rt, obj, "ADDED")
  }

  /**
   * Stores `next` over `old`. A write that changes nothing (managed fields included, their times
   * aside) is not stored: no new resourceVersion, no event, as in the real apiserver.
   */
  update(
    rt: ResourceType,
    old: KubeObject,
    next: KubeObject,
    ctx: WriteContext,
    ownership: (next: KubeObject) => ReadonlyArray<Entry>
  ): KubeObject {
    const meta = metaOf(next)
    const oldMeta = metaOf(old)
    // Clients cannot change what the server owns; the server's own controllers (direct writes) can.
    const owned = ctx.direct
      ? ["name", "namespace"]
      : ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "name", "namespace"]
    for (const k of owned) {
      if (oldMeta[k] === undefined) delete meta[k]
      else meta[k] = oldMeta[k]
    }
    next.apiVersion = rt.apiVersion
    next.kind = rt.kind
    if ((rt.statusSubresource || rt === this.resources.namespace()) && !ctx.direct) {
      if (old.status === undefined) delete next.status
      else next.status = clone(old.status)
      if (rt === this.resources.namespace()) next.spec = clone(old.spec)
    }
    this.normalize(rt, next, old)
    const added = (meta.finalizers ?? []).filter((f) => !(oldMeta.finalizers ?? []).includes(f))
    const extra =
      oldMeta.deletionTimestamp !== undefined && added.length > 0
        ? [fieldForbidden("metadata.finalizers", "no new finalizers can be added if the object is being deleted")]
        : []
    this.check(rt, next, old, ctx, extra)
    if (rt.generation && !deepEqual(specOf(old), specOf(next))) meta.generation = (meta.generation ?? 0) + 1
    const entries = ownership(next)
    meta.managedFields = writeEntries(entries)
    if (oldMeta.resourceVersion === undefined) delete meta.resourceVersion
    else meta.resourceVersion = oldMeta.resourceVersion
    const { managedFields: _a, ...metaNext } = meta
    const { managedFields: _b, ...metaOld } = oldMeta
    if (deepEqual({ ...next, metadata: metaNext }, { ...old, metadata: metaOld }) && sameOwnership(readEntries(old), entries)) return old
    if (ctx.dryRun) return next
    if (meta.deletionTimestamp !== undefined && this.canRemove(rt, next)) return this.removeNow(rt, next)
    return this.commit(rt, next, "MODIFIED", old)
  }

  /** An update by `manager` that records an Update entry in managed fields. */
  updateAs(
    rt: ResourceType,
    old: KubeObject,
    next: KubeObject,
    ctx: WriteContext,
    base: ReadonlyArray<Entry> = readEntries(old)
  ): KubeObject {
    const writer = { manager: ctx.manager, apiVersion: rt.apiVersion, time: timestamp() }
    return this.update(rt, old, next, ctx, (n) => recordUpdate(base, old, n, rt, writer))
  }

  /** Server-side apply: creates the object when absent. */
  apply(rt: ResourceType, applied: KubeObject, ctx: WriteContext & { readonly force: boolean }): KubeObject {
    const meta = metaOf(applied)
    const live = this.get(rt, meta.namespace, meta.name ?? "")
    const target = this.target(rt, meta.name ?? "")
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== live?.metadata?.resourceVersion) {
      throw live === undefined ? notFound(target) : modified(target)
    }
    const writer = { manager: ctx.manager, apiVersion: rt.apiVersion, time: timestamp(), force: ctx.force, target }
    if (live === undefined) {
      const result = apply([], undefined, applied, rt, writer)
      return this.create(rt, result.object, ctx, () => result.entries)
    }
    const result = apply(readEntries(live), live, applied, rt, writer)
    return this.update(rt, live, clone(result.object), ctx, () => result.entries)
  }
}
