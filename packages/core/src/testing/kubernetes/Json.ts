/** JSON values as the fake API server stores and compares them. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | JsonObject
export interface JsonObject {
  readonly [key: string]: Json
}

/** A Kubernetes object as stored: any JSON object with the usual envelope. */
export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata?: ObjectMeta
  [key: string]: unknown
}

export interface ObjectMeta {
  name?: string
  generateName?: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  generation?: number
  creationTimestamp?: string
  deletionTimestamp?: string
  deletionGracePeriodSeconds?: number
  labels?: Record<string, string>
  annotations?: Record<string, string>
  finalizers?: Array<string>
  ownerReferences?: Array<OwnerReference>
  managedFields?: Array<ManagedFieldsEntry>
  [key: string]: unknown
}

export interface OwnerReference {
  apiVersion: string
  kind: string
  name: string
  uid: string
  controller?: boolean
  blockOwnerDeletion?: boolean
}

export interface ManagedFieldsEntry {
  manager: string
  operation: "Apply" | "Update"
  apiVersion: string
  time: string
  fieldsType: "FieldsV1"
  fieldsV1: Record<string, unknown>
  subresource?: string
}

export const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

export const clone = <A>(value: A): A => structuredClone(value)

/** Freezes `value` and everything in it; stored objects are frozen so that no code path can edit them in place. */
export const deepFreeze = <A>(value: A): A => {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

export const deepEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]))
  }
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined)
    const kb = Object.keys(b).filter((k) => b[k] !== undefined)
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]))
  }
  return false
}

/** RFC 3339 with second precision, as the apiserver writes timestamps. */
export const timestamp = (ms: number = Date.now()): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

export const metaOf = (obj: KubeObject): ObjectMeta => {
  if (!isRecord(obj.metadata)) obj.metadata = {}
  return obj.metadata as ObjectMeta
}
