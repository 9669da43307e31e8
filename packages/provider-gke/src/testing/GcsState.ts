import {
  type BucketRecord,
  defaultBindings,
  type Json,
  mergePatch,
  metagenerationEtag,
  normalizeFields,
  projectNumberOf,
  settable,
  validBucketName
} from "./GcsBuckets.ts"
import { checkObjectPreconditions, type StoredObject, type UploadMetadata } from "./GcsObjects.ts"
import { fail, page, pageToken } from "./http.ts"
import { applyEdit, type IamPolicy, type PolicyDraft, parseBindings, readVersion, storedVersion } from "./policy.ts"

/** What the GCS fake stores, and the JSON API's operations on it; every method is synchronous, so each is atomic. */

export interface Bucket extends BucketRecord {
  readonly objects: Map<string, StoredObject>
}

export interface UploadSession {
  readonly id: string
  readonly bucket: string
  readonly name: string
  readonly meta: UploadMetadata
  readonly params: URLSearchParams
  readonly chunks: Array<Buffer>
  received: number
  done: StoredObject | undefined
}

export interface BucketPolicy extends IamPolicy {
  readonly kind: "storage#policy"
  readonly resourceId: string
}

const invalid = (message: string): never => fail(400, message, { reason: "invalid" })
const conditionNotMet = (message = "At least one of the pre-conditions you specified did not hold."): never =>
  fail(412, message, { reason: "conditionNotMet" })

const PUBLIC = new Set(["allUsers", "allAuthenticatedUsers"])

export class GcsState {
  readonly maxPageSize: number
  private readonly buckets = new Map<string, Bucket>()
  private readonly sessions = new Map<string, UploadSession>()
  private lastGeneration = 0
  private lastSession = 0

  constructor(maxPageSize: number) {
    this.maxPageSize = maxPageSize
  }

  all(): ReadonlyArray<Bucket> {
    return [...this.buckets.values()].sort((a, b) => (a.name < b.name ? -1 : 1))
  }

  find(name: string): Bucket | undefined {
    return this.buckets.get(name)
  }

  bucket(name: string): Bucket {
    return this.buckets.get(name) ?? fail(404, "The specified bucket does not exist.", { reason: "notFound" })
  }

  private touch(b: Bucket) {
    b.metageneration++
    b.updated = new Date(Math.max(Date.now(), b.updated.getTime()))
  }

  private checkMetageneration(b: Bucket, params: URLSearchParams) {
    const match = params.get("ifMetagenerationMatch")
    if (match !== null && Number(match) !== b.metageneration) conditionNotMet()
    const notMatch = params.get("ifMetagenerationNotMatch")
    if (notMatch !== null && Number(notMatch) === b.metageneration) conditionNotMet()
  }

  insertBucket(project: string | null, body: Json): Bucket {
    if (project === null || project === "") return fail(400, "Required parameter: project", { reason: "required" })
    const name = body.name
    if (typeof name !== "string" || name === "") return fail(400, "Required field: name", { reason: "required" })
    if (!validBucketName(name)) return invalid(`Invalid bucket name: '${name}'`)
    if (this.buckets.has(name)) {
      return fail(409, "Your previous request to create the named bucket succeeded and you already own it.", { reason: "conflict" })
    }
    const now = new Date()
    const bucket: Bucket = {
      name,
      project,
      projectNumber: projectNumberOf(project),
      created: now,
      updated: now,
      metageneration: 1,
      fields: normalizeFields(mergePatch({}, settable(body)), undefined, now),
      policyVersion: 1,
      bindings: defaultBindings(project),
      objects: new Map()
    }
    this.buckets.set(name, bucket)
    return bucket
  }

  getBucket(name: string, params: URLSearchParams): Bucket {
    const b = this.bucket(name)
    this.checkMetageneration(b, params)
    return b
  }

  patchBucket(name: string, patch: Json, params: URLSearchParams): Bucket {
    const b = this.getBucket(name, params)
    if (patch.name !== undefined && patch.name !== name) invalid("The name of a bucket cannot change.")
    const now = new Date()
    b.fields = normalizeFields(mergePatch(b.fields, settable(patch)), b.fields, now)
    this.touch(b)
    return b
  }

  /** A change made behind the clients' backs: `change` edits a copy of the settable fields. */
  // biome-ignore lint/suspicious/noConfusingVoidType: edits mostly change the copy in place and return nothing.
  editBucket(name: string, change: (fields: Json) => Json | void): Bucket {
    const b = this.bucket(name)
    const draft = structuredClone(b.fields)
    b.fields = normalizeFields(settable(change(draft) ?? draft), b.fields, new Date())
    this.touch(b)
    return b
  }

  deleteBucket(name: string, params: URLSearchParams): void {
    const b = this.getBucket(name, params)
    if (b.objects.size > 0) fail(409, "The bucket you tried to delete is not empty.", { reason: "conflict" })
    this.buckets.delete(name)
  }

  listBuckets(project: string | null, params: URLSearchParams) {
    if (project === null || project === "") return fail(400, "Required parameter: project", { reason: "required" })
    const prefix = params.get("prefix") ?? ""
    const matching = this.all().filter((b) => b.project === project && b.name.startsWith(prefix))
    const after = pageToken.decode(params.get("pageToken"), () => invalid("Invalid page token."))
    return page(matching, (b) => b.name, after, this.pageSize(params))
  }

  private pageSize(params: URLSearchParams): number {
    const requested = Number(params.get("maxResults") ?? this.maxPageSize)
    if (!Number.isInteger(requested) || requested < 1) invalid(`Invalid value for maxResults: ${params.get("maxResults")}`)
    return Math.min(requested, this.maxPageSize)
  }

  policy(name: string, requestedVersion: string | null): BucketPolicy {
    const b = this.bucket(name)
    readVersion(requestedVersion, b.bindings, invalid)
    return {
      kind: "storage#policy",
      resourceId: `projects/_/buckets/${name}`,
      version: b.policyVersion,
      etag: metagenerationEtag(b.metageneration),
      bindings: structuredClone(b.bindings)
    }
  }

  setPolicy(name: string, body: Json): BucketPolicy {
    const b = this.bucket(name)
    if (typeof body.etag === "string" && body.etag !== "" && body.etag !== metagenerationEtag(b.metageneration)) conditionNotMet()
    const bindings = parseBindings(body.bindings, invalid)
    const version = storedVersion(body.version, bindings, invalid)
    this.checkPolicy(b, bindings)
    b.bindings = bindings
    b.policyVersion = version
    this.touch(b)
    return this.policy(name, "3")
  }

  private checkPolicy(b: Bucket, bindings: ReadonlyArray<{ readonly members: ReadonlyArray<string>; readonly condition?: unknown }>) {
    const iam = b.fields.iamConfiguration as { uniformBucketLevelAccess: { enabled: boolean }; publicAccessPrevention: string }
    if (bindings.some((x) => x.condition !== undefined) && !iam.uniformBucketLevelAccess.enabled) {
      invalid("IAM conditions can only be used on buckets with uniform bucket-level access enabled.")
    }
    if (iam.publicAccessPrevention === "enforced" && bindings.some((x) => x.members.some((m) => PUBLIC.has(m)))) {
      conditionNotMet("The member bindings allUsers and allAuthenticatedUsers are not allowed since public access prevention is enforced.")
    }
  }

  // biome-ignore lint/suspicious/noConfusingVoidType: edits mostly change the draft in place and return nothing.
  editPolicy(name: string, change: (draft: PolicyDraft) => PolicyDraft | void): BucketPolicy {
    const b = this.bucket(name)
    const next = applyEdit(b.policyVersion, b.bindings, change)
    b.bindings = next.bindings
    b.policyVersion = next.version
    this.touch(b)
    return this.policy(name, "3")
  }

  private nextGeneration(): number {
    this.lastGeneration = Math.max(Date.now() * 1000, this.lastGeneration + 1)
    return this.lastGeneration
  }

  putObject(bucket: string, name: string, data: Buffer, meta: UploadMetadata, params: URLSearchParams): StoredObject {
    const b = this.bucket(bucket)
    checkObjectPreconditions(b.objects.get(name), params)
    const object: StoredObject = {
      name,
      bucket,
      generation: this.nextGeneration(),
      metageneration: 1,
      contentType: meta.contentType ?? "application/octet-stream",
      storageClass: String(b.fields.storageClass),
      created: new Date(),
      metadata: meta.metadata,
      data
    }
    b.objects.set(name, object)
    return object
  }

  object(bucket: string, name: string, params: URLSearchParams): StoredObject {
    const found = this.bucket(bucket).objects.get(name)
    const generation = params.get("generation")
    if (found === undefined || (generation !== null && Number(generation) !== found.generation)) {
      return fail(404, `No such object: ${bucket}/${name}`, { reason: "notFound" })
    }
    checkObjectPreconditions(found, params)
    return found
  }

  deleteObject(bucket: string, name: string, params: URLSearchParams): void {
    this.object(bucket, name, params)
    this.bucket(bucket).objects.delete(name)
  }

  listObjects(bucket: string, params: URLSearchParams) {
    const b = this.bucket(bucket)
    const prefix = params.get("prefix") ?? ""
    const delimiter = params.get("delimiter") ?? ""
    const start = params.get("startOffset") ?? ""
    const end = params.get("endOffset")
    const entries = new Map<string, StoredObject | undefined>()
    for (const name of [...b.objects.keys()].sort()) {
      if (!name.startsWith(prefix) || name < start || (end !== null && name >= end)) continue
      const cut = delimiter === "" ? -1 : name.indexOf(delimiter, prefix.length)
      if (cut === -1) entries.set(name, b.objects.get(name))
      else entries.set(name.slice(0, cut + delimiter.length), undefined)
    }
    const after = pageToken.decode(params.get("pageToken"), () => invalid("Invalid page token."))
    const { items, next } = page([...entries], ([key]) => key, after, this.pageSize(params))
    return {
      objects: items.flatMap(([, o]) => (o === undefined ? [] : [o])),
      prefixes: items.flatMap(([key, o]) => (o === undefined ? [key] : [])),
      next
    }
  }

  startUpload(bucket: string, name: string, meta: UploadMetadata, params: URLSearchParams): UploadSession {
    const b = this.bucket(bucket)
    checkObjectPreconditions(b.objects.get(name), params)
    const id = `fake-upload-${++this.lastSession}`
    const session: UploadSession = { id, bucket, name, meta, params: new URLSearchParams(params), chunks: [], received: 0, done: undefined }
    this.sessions.set(id, session)
    return session
  }

  session(id: string | null): UploadSession {
    return (id === null ? undefined : this.sessions.get(id)) ?? fail(404, "No such upload session.", { reason: "notFound" })
  }

  /** Appends the bytes of a resumable upload's PUT (as its Content-Range places them) and finishes the upload when they are all there. */
  uploadChunk(s: UploadSession, contentRange: string | undefined, data: Buffer): UploadSession {
    if (s.done !== undefined) return s
    const range = contentRange ?? `bytes 0-*/*`
    const m = /^bytes (?:\*|(\d+)-(\d+|\*))\/(\*|\d+)$/.exec(range.trim())
    if (m === null) return invalid(`Invalid Content-Range: ${range}`)
    const [, first, last, total] = m
    if (first !== undefined) {
      const startAt = Number(first)
      if (startAt > s.received) return invalid(`The upload resumes at byte ${startAt}, but only ${s.received} bytes were received.`)
      const fresh = data.subarray(s.received - startAt)
      s.chunks.push(fresh)
      s.received += fresh.length
    }
    const complete = total === "*" ? last === "*" : s.received === Number(total)
    if (complete) s.done = this.putObject(s.bucket, s.name, Buffer.concat(s.chunks), s.meta, s.params)
    return s
  }
}
