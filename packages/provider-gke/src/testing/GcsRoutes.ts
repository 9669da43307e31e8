import { renderBucket } from "./GcsBuckets.ts"
import { checkObjectName, crc32c, md5, parseMultipart, renderObject, type StoredObject, uploadMetadata } from "./GcsObjects.ts"
import type { GcsState } from "./GcsState.ts"
import { type Api, ApiFailure, type Call, fail, jsonBody, noContent, ok, type Reply, type Route } from "./http.ts"

/** The HTTP surface of the GCS JSON API v1: which path and method is which operation, and how each answers. */

const REASONS: Readonly<Record<number, string>> = {
  400: "invalid",
  401: "required",
  403: "forbidden",
  404: "notFound",
  409: "conflict",
  412: "conditionNotMet",
  429: "rateLimitExceeded",
  500: "backendError",
  502: "backendError",
  503: "backendError",
  504: "backendError"
}

const DEFAULT_MESSAGES: Readonly<Record<number, string>> = {
  403: "The caller does not have permission",
  429: "The rate of change requests to the bucket is too high.",
  500: "Backend Error",
  503: "We encountered an internal error. Please try again."
}

const render = (f: ApiFailure) => {
  const reason = f.reason ?? REASONS[f.code] ?? "backendError"
  return { error: { code: f.code, message: f.message, errors: [{ message: f.message, domain: "global", reason }] } }
}

const parseError = (): never => fail(400, "Parse Error", { reason: "parseError" })

const route = (operation: string, write: boolean, serve: (call: Call) => Reply): Route => ({ operation, write, serve })

const decode = (segment: string) => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return fail(400, "Invalid percent-encoding in the path.", { reason: "invalid" })
  }
}

const objectList = (state: GcsState, bucket: string, call: Call) => {
  const { objects, prefixes, next } = state.listObjects(bucket, call.params)
  return ok({
    kind: "storage#objects",
    ...(prefixes.length === 0 ? {} : { prefixes }),
    ...(objects.length === 0 ? {} : { items: objects.map((o) => renderObject(o, call.origin)) }),
    ...(next === undefined ? {} : { nextPageToken: next })
  })
}

const download = (o: StoredObject): Reply => ({
  status: 200,
  data: o.data,
  headers: {
    "Content-Type": o.contentType,
    "x-goog-hash": `crc32c=${crc32c(o.data)},md5=${md5(o.data)}`,
    "x-goog-generation": String(o.generation),
    "x-goog-metageneration": String(o.metageneration),
    "x-goog-stored-content-length": String(o.data.length),
    "x-goog-stored-content-encoding": "identity"
  }
})

const bucketRoutes = (state: GcsState, method: string, rest: ReadonlyArray<string>): Route | undefined => {
  const [raw, sub, ...more] = rest
  if (raw === undefined) {
    if (method === "POST") {
      return route("storage.buckets.insert", true, (c) =>
        ok(renderBucket(state.insertBucket(c.params.get("project"), jsonBody(c, parseError)), c.origin))
      )
    }
    if (method === "GET") {
      return route("storage.buckets.list", false, (c) => {
        const { items, next } = state.listBuckets(c.params.get("project"), c.params)
        return ok({
          kind: "storage#buckets",
          ...(items.length === 0 ? {} : { items: items.map((b) => renderBucket(b, c.origin)) }),
          ...(next === undefined ? {} : { nextPageToken: next })
        })
      })
    }
    return undefined
  }
  const bucket = decode(raw)
  if (sub === undefined) {
    switch (method) {
      case "GET":
        return route("storage.buckets.get", false, (c) => ok(renderBucket(state.getBucket(bucket, c.params), c.origin)))
      case "PATCH":
        return route("storage.buckets.patch", true, (c) =>
          ok(renderBucket(state.patchBucket(bucket, jsonBody(c, parseError), c.params), c.origin))
        )
      case "DELETE":
        return route("storage.buckets.delete", true, (c) => {
          state.deleteBucket(bucket, c.params)
          return noContent
        })
    }
    return undefined
  }
  if (sub === "iam") {
    if (more.length === 1 && more[0] === "testPermissions" && method === "GET") {
      return route("storage.buckets.testIamPermissions", false, (c) => {
        state.bucket(bucket)
        return ok({ kind: "storage#testIamPermissionsResponse", permissions: c.params.getAll("permissions") })
      })
    }
    if (more.length > 0) return undefined
    if (method === "GET") {
      return route("storage.buckets.getIamPolicy", false, (c) => ok(state.policy(bucket, c.params.get("optionsRequestedPolicyVersion"))))
    }
    if (method === "PUT") return route("storage.buckets.setIamPolicy", true, (c) => ok(state.setPolicy(bucket, jsonBody(c, parseError))))
    return undefined
  }
  if (sub !== "o") return undefined
  if (more.length === 0) return method === "GET" ? route("storage.objects.list", false, (c) => objectList(state, bucket, c)) : undefined
  const name = decode(more.join("/"))
  if (method === "GET") {
    return route("storage.objects.get", false, (c) => {
      const o = state.object(bucket, name, c.params)
      return c.params.get("alt") === "media" ? download(o) : ok(renderObject(o, c.origin))
    })
  }
  if (method === "DELETE") {
    return route("storage.objects.delete", true, (c) => {
      state.deleteObject(bucket, name, c.params)
      return noContent
    })
  }
  return undefined
}

const upload = (state: GcsState, bucket: string, c: Call): Reply => {
  const type = c.params.get("uploadType")
  if (type === "media") {
    const name = checkObjectName(c.params.get("name"))
    const contentType = c.headers["content-type"]
    const o = state.putObject(bucket, name, c.body, contentType === undefined ? {} : { contentType }, c.params)
    return ok(renderObject(o, c.origin))
  }
  if (type === "multipart") {
    const [metaPart, mediaPart] = parseMultipart(c.headers["content-type"], c.body)
    const json = jsonBody({ ...c, body: metaPart?.body ?? Buffer.alloc(0) }, parseError)
    const name = checkObjectName(c.params.get("name") ?? (typeof json.name === "string" ? json.name : null))
    const meta = uploadMetadata(json)
    const contentType = meta.contentType ?? mediaPart?.contentType
    const o = state.putObject(
      bucket,
      name,
      mediaPart?.body ?? Buffer.alloc(0),
      { ...meta, ...(contentType === undefined ? {} : { contentType }) },
      c.params
    )
    return ok(renderObject(o, c.origin))
  }
  if (type === "resumable") {
    const json = jsonBody(c, parseError)
    const name = checkObjectName(c.params.get("name") ?? (typeof json.name === "string" ? json.name : null))
    const header = c.headers["x-upload-content-type"]
    const meta = uploadMetadata(json)
    const contentType = meta.contentType ?? (typeof header === "string" ? header : undefined)
    const s = state.startUpload(bucket, name, { ...meta, ...(contentType === undefined ? {} : { contentType }) }, c.params)
    const location = `${c.origin}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${s.id}`
    return { status: 200, headers: { Location: location, "X-GUploader-UploadID": s.id } }
  }
  return fail(400, `Invalid upload type: ${String(type)}`, { reason: "invalid" })
}

const uploadChunk = (state: GcsState, c: Call): Reply => {
  const s = state.uploadChunk(state.session(c.params.get("upload_id")), c.headers["content-range"], c.body)
  if (s.done !== undefined) return ok(renderObject(s.done, c.origin))
  return { status: 308, headers: s.received === 0 ? {} : { Range: `bytes=0-${s.received - 1}` } }
}

export const gcsApi = (state: GcsState): Api => ({
  route: (method, path) => {
    const parts = path.split("/").slice(1)
    const [root, ...tail] = parts
    const api = root === "storage" ? tail : (root === "upload" || root === "download") && tail[0] === "storage" ? tail.slice(1) : undefined
    if (api === undefined || api[0] !== "v1" || api[1] !== "b") return undefined
    const rest = api.slice(2)
    if (root === "storage") return bucketRoutes(state, method, rest)
    const [raw, o, ...objectPath] = rest
    if (raw === undefined || o !== "o") return undefined
    const bucket = decode(raw)
    if (root === "download") {
      if (method !== "GET" || objectPath.length === 0) return undefined
      const name = decode(objectPath.join("/"))
      return route("storage.objects.get", false, (c) => download(state.object(bucket, name, c.params)))
    }
    if (objectPath.length > 0) return undefined
    if (method === "POST") return route("storage.objects.insert", true, (c) => upload(state, bucket, c))
    if (method === "PUT") return route("storage.objects.insert", true, (c) => uploadChunk(state, c))
    return undefined
  },
  render,
  notFound: (method, path) => new ApiFailure(404, `Not Found: ${method} ${path}`, { reason: "notFound" }),
  injected: (code, message) => new ApiFailure(code, message ?? DEFAULT_MESSAGES[code] ?? `Injected failure (${code}).`)
})
