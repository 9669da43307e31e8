import { fail } from "./http.ts"
import type { PolicyBinding } from "./policy.ts"

/** The bucket resource of the GCS JSON API: validation, defaults, patch semantics and rendering. */

/** A bucket as the JSON API returns it. Fields a client set that the fake does not model are kept and returned as sent. */
export interface GcsBucket {
  readonly kind: "storage#bucket"
  readonly id: string
  readonly selfLink: string
  readonly name: string
  readonly projectNumber: string
  /** An int64 as a decimal string, as GCS sends it; it grows with every change of the metadata or the IAM policy. */
  readonly metageneration: string
  readonly etag: string
  readonly location: string
  readonly locationType: string
  readonly storageClass: string
  readonly timeCreated: string
  readonly updated: string
  readonly labels?: Readonly<Record<string, string>>
  readonly iamConfiguration: {
    readonly bucketPolicyOnly: { readonly enabled: boolean; readonly lockedTime?: string }
    readonly uniformBucketLevelAccess: { readonly enabled: boolean; readonly lockedTime?: string }
    readonly publicAccessPrevention: "enforced" | "inherited"
  }
  readonly softDeletePolicy: { readonly retentionDurationSeconds: string; readonly effectiveTime: string }
  readonly encryption?: { readonly defaultKmsKeyName: string }
  readonly [field: string]: unknown
}

export type Json = Record<string, unknown>

export interface BucketRecord {
  readonly name: string
  readonly project: string
  readonly projectNumber: string
  readonly created: Date
  updated: Date
  metageneration: number
  /** The settable fields, normalized: location, storageClass, labels, iamConfiguration, softDeletePolicy, encryption and the rest as sent. */
  fields: Json
  policyVersion: number
  bindings: Array<PolicyBinding>
}

const invalid = (message: string): never => fail(400, message, { reason: "invalid" })

const READ_ONLY = new Set([
  "kind",
  "id",
  "selfLink",
  "name",
  "projectNumber",
  "metageneration",
  "generation",
  "etag",
  "timeCreated",
  "updated",
  "locationType",
  "owner",
  "acl",
  "defaultObjectAcl"
])

const IP_ADDRESS = /^\d{1,3}(\.\d{1,3}){3}$/

/** GCS's naming rules: https://cloud.google.com/storage/docs/buckets#naming */
export const validBucketName = (name: string): boolean => {
  if (!/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/.test(name)) return false
  const dotted = name.includes(".")
  if (name.length < 3 || name.length > (dotted ? 222 : 63)) return false
  if (dotted && name.split(".").some((part) => part.length === 0 || part.length > 63)) return false
  return !IP_ADDRESS.test(name) && !name.startsWith("goog") && !name.includes("google")
}

/** Etags of bucket metadata and bucket IAM policies encode the metageneration, as GCS's do ("CAE=" for 1). */
export const metagenerationEtag = (metageneration: number): string => {
  const bytes = [0x08]
  let n = metageneration
  while (n >= 0x80) {
    bytes.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  bytes.push(n)
  return Buffer.from(bytes).toString("base64")
}

/** A stable 12-digit project number for a project id. */
export const projectNumberOf = (project: string): string => {
  let h = 7
  for (const c of project) h = (h * 31 + c.charCodeAt(0)) % 900_000_000_000
  return String(100_000_000_000 + h)
}

/** The bindings every new bucket starts with: the project's owners, editors and viewers through the legacy roles. */
export const defaultBindings = (project: string): Array<PolicyBinding> => [
  { role: "roles/storage.legacyBucketOwner", members: [`projectEditor:${project}`, `projectOwner:${project}`] },
  { role: "roles/storage.legacyBucketReader", members: [`projectViewer:${project}`] },
  { role: "roles/storage.legacyObjectOwner", members: [`projectEditor:${project}`, `projectOwner:${project}`] },
  { role: "roles/storage.legacyObjectReader", members: [`projectViewer:${project}`] }
]

const STORAGE_CLASSES = new Set([
  "STANDARD",
  "NEARLINE",
  "COLDLINE",
  "ARCHIVE",
  "MULTI_REGIONAL",
  "REGIONAL",
  "DURABLE_REDUCED_AVAILABILITY"
])
const MULTI_REGIONS: Readonly<Record<string, string>> = { US: "us", EU: "europe", ASIA: "asia" }
const DUAL_REGIONS = new Set(["NAM4", "EUR4", "EUR5", "EUR7", "EUR8", "ASIA1"])
const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u
const KMS_KEY = /^projects\/[^/]+\/locations\/([^/]+)\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/
const DAY = 86_400
const UBLA_LOCK_MS = 90 * DAY * 1000

const locationType = (location: string) =>
  location in MULTI_REGIONS ? "multi-region" : DUAL_REGIONS.has(location) ? "dual-region" : "region"

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v)

/** Patch semantics of the JSON API: objects merge recursively, `null` removes a field, anything else replaces. */
export const mergePatch = (target: Json, patch: Json): Json => {
  const out: Json = { ...target }
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key]
    else if (isObject(value) && isObject(out[key])) out[key] = mergePatch(out[key] as Json, value)
    else if (isObject(value)) out[key] = mergePatch({}, value)
    else out[key] = value
  }
  return out
}

export const settable = (body: Json): Json => Object.fromEntries(Object.entries(body).filter(([k]) => !READ_ONLY.has(k)))

const checkLabels = (labels: unknown) => {
  if (labels === undefined) return
  if (!isObject(labels)) return invalid("Invalid argument: labels must be an object.")
  const entries = Object.entries(labels)
  if (entries.length > 64) invalid("A bucket can have at most 64 labels.")
  for (const [key, value] of entries) {
    if (!LABEL_KEY.test(key)) invalid(`Invalid label key '${key}'.`)
    if (typeof value !== "string" || !LABEL_VALUE.test(value)) invalid(`Invalid value for label '${key}'.`)
  }
}

const normalizeIamConfiguration = (raw: unknown, previous: unknown, now: Date): Json => {
  const cfg = isObject(raw) ? raw : {}
  const before = isObject(previous) ? (previous.uniformBucketLevelAccess as Json | undefined) : undefined
  const ubla = isObject(cfg.uniformBucketLevelAccess)
    ? cfg.uniformBucketLevelAccess
    : isObject(cfg.bucketPolicyOnly)
      ? cfg.bucketPolicyOnly
      : {}
  if (ubla.enabled !== undefined && typeof ubla.enabled !== "boolean") invalid("uniformBucketLevelAccess.enabled must be a boolean.")
  const enabled = ubla.enabled === true
  const lockedTime =
    enabled && before?.enabled === true && typeof before.lockedTime === "string"
      ? before.lockedTime
      : enabled
        ? new Date(now.getTime() + UBLA_LOCK_MS).toISOString()
        : undefined
  const access = { enabled, ...(lockedTime === undefined ? {} : { lockedTime }) }
  const pap = cfg.publicAccessPrevention ?? "inherited"
  if (pap !== "enforced" && pap !== "inherited" && pap !== "unspecified")
    invalid(`Invalid value for publicAccessPrevention: ${String(pap)}`)
  return {
    ...cfg,
    bucketPolicyOnly: access,
    uniformBucketLevelAccess: access,
    publicAccessPrevention: pap === "enforced" ? "enforced" : "inherited"
  }
}

const normalizeSoftDelete = (raw: unknown, previous: unknown, now: Date): Json => {
  const cfg = isObject(raw) ? raw : {}
  const seconds = Number(cfg.retentionDurationSeconds ?? 7 * DAY)
  if (!Number.isInteger(seconds) || (seconds !== 0 && (seconds < 7 * DAY || seconds > 90 * DAY))) {
    invalid("The soft delete retention duration must be 0 or between 7 and 90 days (604800 to 7776000 seconds).")
  }
  const retentionDurationSeconds = String(seconds)
  const prev = isObject(previous) ? previous : undefined
  const effectiveTime =
    prev?.retentionDurationSeconds === retentionDurationSeconds && typeof prev.effectiveTime === "string"
      ? prev.effectiveTime
      : now.toISOString()
  return { retentionDurationSeconds, effectiveTime }
}

/**
 * Checks and normalizes the settable fields of a bucket after an insert or a patch: defaults,
 * upper-case location and storage class, the UBLA lock time and the legacy `bucketPolicyOnly` mirror.
 */
export const normalizeFields = (fields: Json, previous: Json | undefined, now: Date): Json => {
  const location = String(fields.location ?? "US").toUpperCase()
  if (!/^[A-Z0-9-]+$/.test(location)) invalid(`Invalid location: ${String(fields.location)}`)
  if (previous !== undefined && previous.location !== location)
    invalid(`The location of a bucket cannot change (it is ${String(previous.location)}).`)
  const storageClass = String(fields.storageClass ?? "STANDARD").toUpperCase()
  if (!STORAGE_CLASSES.has(storageClass)) invalid(`Invalid storage class: ${String(fields.storageClass)}`)
  checkLabels(fields.labels)
  const out: Json = {
    ...fields,
    location,
    storageClass,
    iamConfiguration: normalizeIamConfiguration(fields.iamConfiguration, previous?.iamConfiguration, now),
    softDeletePolicy: normalizeSoftDelete(fields.softDeletePolicy, previous?.softDeletePolicy, now)
  }
  if (isObject(fields.labels) && Object.keys(fields.labels).length === 0) delete out.labels
  const encryption = fields.encryption
  if (encryption === undefined || (isObject(encryption) && encryption.defaultKmsKeyName === undefined)) delete out.encryption
  else {
    const key = isObject(encryption) ? encryption.defaultKmsKeyName : undefined
    const match = typeof key === "string" ? KMS_KEY.exec(key) : null
    if (match === null) return invalid(`Invalid Cloud KMS key name: ${String(key)}`)
    const keyLocation = match[1] ?? ""
    const needed = MULTI_REGIONS[location] ?? location.toLowerCase()
    if (keyLocation !== needed) {
      invalid(`The Cloud KMS key ${String(key)} is in ${keyLocation}; a bucket in ${location} needs a key in ${needed}.`)
    }
  }
  return out
}

export const renderBucket = (b: BucketRecord, origin: string): GcsBucket =>
  structuredClone({
    kind: "storage#bucket",
    selfLink: `${origin}/storage/v1/b/${b.name}`,
    id: b.name,
    name: b.name,
    projectNumber: b.projectNumber,
    metageneration: String(b.metageneration),
    ...b.fields,
    locationType: locationType(String(b.fields.location)),
    etag: metagenerationEtag(b.metageneration),
    timeCreated: b.created.toISOString(),
    updated: b.updated.toISOString()
  } as GcsBucket)
