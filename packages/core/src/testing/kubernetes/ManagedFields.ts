import { changedFields, FieldSet, getAt, mergeApplied, type Path, pathString, removeAt, toFieldSet } from "./FieldPath.ts"
import { decodeFieldsV1, encodeFieldsV1 } from "./FieldsV1.ts"
import { deepEqual, isRecord, type KubeObject, type ManagedFieldsEntry } from "./Json.ts"
import type { ResourceType } from "./Resources.ts"
import { applyConflict, type Target } from "./Status.ts"

/**
 * Field ownership: who set which field, recorded in `metadata.managedFields`, and what server-side
 * apply does with it (conflicts, shared ownership, removal of fields an applier stopped setting).
 */

export interface Entry {
  readonly manager: string
  readonly operation: "Apply" | "Update"
  readonly apiVersion: string
  readonly time: string
  readonly subresource?: string
  readonly set: FieldSet
}

export interface Writer {
  readonly manager: string
  readonly apiVersion: string
  readonly time: string
}

// Set by the server, so nobody owns them.
const SERVER_META = [
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink"
]

/** `obj` without what the server sets (and without status when a status subresource owns it). */
export const withoutServerFields = (obj: KubeObject, rt: ResourceType): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...obj }
  if (isRecord(obj.metadata)) {
    const meta: Record<string, unknown> = { ...obj.metadata }
    for (const k of SERVER_META) delete meta[k]
    out.metadata = meta
  }
  if (rt.statusSubresource) delete out.status
  return out
}

// What nobody owns either: the identity of the object.
const ownable = (obj: KubeObject, rt: ResourceType): Record<string, unknown> => {
  const out = withoutServerFields(obj, rt)
  delete out.apiVersion
  delete out.kind
  if (isRecord(out.metadata)) {
    const meta = { ...out.metadata }
    delete meta.name
    delete meta.namespace
    // "metadata" itself is never owned, only what is in it.
    if (Object.keys(meta).length === 0) delete out.metadata
    else out.metadata = meta
  }
  return out
}

export const readEntries = (obj: KubeObject | undefined): Array<Entry> =>
  (obj?.metadata?.managedFields ?? []).map((e) => ({
    manager: e.manager,
    operation: e.operation,
    apiVersion: e.apiVersion,
    time: e.time,
    ...(e.subresource === undefined ? {} : { subresource: e.subresource }),
    set: decodeFieldsV1(e.fieldsV1)
  }))

export const writeEntries = (entries: ReadonlyArray<Entry>): Array<ManagedFieldsEntry> =>
  entries.map((e) => ({
    manager: e.manager,
    operation: e.operation,
    apiVersion: e.apiVersion,
    time: e.time,
    fieldsType: "FieldsV1",
    fieldsV1: encodeFieldsV1(e.set),
    ...(e.subresource === undefined ? {} : { subresource: e.subresource })
  }))

/** Same owners of the same fields, ignoring times: an apply that changes nothing else then changes nothing. */
export const sameOwnership = (a: ReadonlyArray<Entry>, b: ReadonlyArray<Entry>): boolean =>
  a.length === b.length &&
  a.every((e, i) => {
    const o = b[i]!
    return e.manager === o.manager && e.operation === o.operation && e.apiVersion === o.apiVersion && e.set.equals(o.set)
  })

// Ownership of fields that no longer exist is dropped, and so are managers left owning nothing.
const prune = (entries: ReadonlyArray<Entry>, obj: Record<string, unknown>): Array<Entry> =>
  entries.map((e) => ({ ...e, set: new FieldSet(e.set.paths().filter((p) => getAt(obj, p) !== undefined)) })).filter((e) => e.set.size > 0)

const upsert = (entries: ReadonlyArray<Entry>, entry: Entry): Array<Entry> => {
  const i = entries.findIndex((e) => e.manager === entry.manager && e.operation === entry.operation && e.subresource === entry.subresource)
  return i < 0 ? [...entries, entry] : entries.map((e, j) => (j === i ? entry : e))
}

/**
 * An update (create, PUT, non-apply PATCH) by `writer`: it comes to own every field it set or
 * changed, taking them from whoever owned them, without conflicts.
 */
export const recordUpdate = (
  entries: ReadonlyArray<Entry>,
  before: KubeObject | undefined,
  after: KubeObject,
  rt: ResourceType,
  writer: Writer
): Array<Entry> => {
  const next = ownable(after, rt)
  const changed = changedFields(before === undefined ? undefined : ownable(before, rt), next)
  if (changed.size === 0) return prune(entries, next)
  const mine = entries.find((e) => e.manager === writer.manager && e.operation === "Update" && e.subresource === undefined)
  const others = entries.map((e) => (e === mine ? e : { ...e, set: e.set.minus(changed) }))
  const entry: Entry = {
    manager: writer.manager,
    operation: "Update",
    apiVersion: writer.apiVersion,
    time: writer.time,
    set: (mine?.set ?? new FieldSet()).union(changed)
  }
  return prune(upsert(others, entry), next)
}

const describeManager = (e: Entry) =>
  e.operation === "Apply" ? JSON.stringify(e.manager) : `${JSON.stringify(e.manager)} using ${e.apiVersion}`

const isLeafPath = (p: Path) => {
  const last = p[p.length - 1]
  return last !== undefined && (last.startsWith("f:") || last.startsWith("i:"))
}

/**
 * Server-side apply of `applied` by `writer` over `live` (absent on create). The applied
 * configuration becomes the writer's whole intent: a field owned by another manager with a
 * different value is a conflict (taken over when `force`); fields the writer owned and no longer
 * sets are removed unless someone else owns them too.
 */
export const apply = (
  entries: ReadonlyArray<Entry>,
  live: KubeObject | undefined,
  applied: KubeObject,
  rt: ResourceType,
  writer: Writer & { readonly force: boolean; readonly target: Target }
): { readonly object: KubeObject; readonly entries: Array<Entry> } => {
  const intent = withoutServerFields(applied, rt)
  const intentFields = ownable(applied, rt)
  const current = live === undefined ? {} : ownable(live, rt)
  const appliedSet = toFieldSet(intentFields)
  const isMine = (e: Entry) => e.manager === writer.manager && e.operation === "Apply" && e.subresource === undefined

  const conflicts: Array<{ entry: Entry; path: Path }> = []
  for (const entry of entries) {
    if (isMine(entry) || entry.subresource !== undefined) continue
    for (const path of entry.set.paths()) {
      if (appliedSet.has(path) && isLeafPath(path) && !deepEqual(getAt(current, path), getAt(intentFields, path)))
        conflicts.push({ entry, path })
    }
  }
  if (conflicts.length > 0 && !writer.force) {
    throw applyConflict(
      writer.target,
      conflicts.map((c) => ({ manager: describeManager(c.entry), field: pathString(c.path) }))
    )
  }
  const others = entries
    .filter((e) => !isMine(e))
    .map((e) => {
      const lost = conflicts.filter((c) => c.entry === e)
      return lost.length === 0 ? e : { ...e, set: e.set.minus(new FieldSet(lost.map((c) => c.path))) }
    })

  // Removal below edits `merged` in place, and the merge shares untouched subtrees with its input.
  const merged = mergeApplied(structuredClone(live ?? {}), intent) as Record<string, unknown>
  const previous = entries.find(isMine)?.set ?? new FieldSet()
  const ownedElsewhere = (p: Path) => others.some((e) => e.set.has(p) || e.set.hasBelow(p))
  const keep = (p: Path) => getAt(intentFields, p) !== undefined || ownedElsewhere(p)
  for (const path of previous.minus(appliedSet).paths()) {
    if (!ownedElsewhere(path)) removeAt(merged, path, keep)
  }

  const own: Entry = { manager: writer.manager, operation: "Apply", apiVersion: writer.apiVersion, time: writer.time, set: appliedSet }
  const mineBefore = entries.findIndex(isMine)
  const ordered = mineBefore < 0 ? [...others, own] : [...others.slice(0, mineBefore), own, ...others.slice(mineBefore)]
  return { object: merged as KubeObject, entries: prune(ordered, ownable(merged as KubeObject, rt)) }
}
