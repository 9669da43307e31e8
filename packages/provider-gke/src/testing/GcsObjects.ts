import { createHash } from "node:crypto"
import { fail } from "./http.ts"

/** The object resource of the GCS JSON API: metadata, checksums, preconditions and multipart bodies. */

/** An object's metadata as the JSON API returns it (int64 fields as decimal strings). */
export interface GcsObject {
  readonly kind: "storage#object"
  readonly id: string
  readonly selfLink: string
  readonly mediaLink: string
  readonly name: string
  readonly bucket: string
  readonly generation: string
  readonly metageneration: string
  readonly contentType: string
  readonly storageClass: string
  readonly size: string
  readonly md5Hash: string
  readonly crc32c: string
  readonly etag: string
  readonly timeCreated: string
  readonly updated: string
  readonly metadata?: Readonly<Record<string, string>>
}

export interface StoredObject {
  readonly name: string
  readonly bucket: string
  readonly generation: number
  readonly metageneration: number
  readonly contentType: string
  readonly storageClass: string
  readonly created: Date
  readonly metadata: Readonly<Record<string, string>> | undefined
  readonly data: Buffer
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    table[i] = c >>> 0
  }
  return table
})()

/** CRC32C (Castagnoli) of `data`, base64 of the big-endian value, as GCS reports it. */
export const crc32c = (data: Uint8Array): string => {
  let c = 0xffffffff
  for (const byte of data) c = (CRC32C_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8)
  const out = Buffer.alloc(4)
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0)
  return out.toString("base64")
}

export const md5 = (data: Uint8Array): string => createHash("md5").update(data).digest("base64")

const varint = (n: number): Array<number> => {
  const bytes: Array<number> = []
  let rest = n
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80)
    rest = Math.floor(rest / 0x80)
  }
  bytes.push(rest)
  return bytes
}

export const renderObject = (o: StoredObject, origin: string): GcsObject => {
  const encoded = encodeURIComponent(o.name)
  const time = o.created.toISOString()
  return {
    kind: "storage#object",
    id: `${o.bucket}/${o.name}/${o.generation}`,
    selfLink: `${origin}/storage/v1/b/${o.bucket}/o/${encoded}`,
    mediaLink: `${origin}/download/storage/v1/b/${o.bucket}/o/${encoded}?generation=${o.generation}&alt=media`,
    name: o.name,
    bucket: o.bucket,
    generation: String(o.generation),
    metageneration: String(o.metageneration),
    contentType: o.contentType,
    storageClass: o.storageClass,
    size: String(o.data.length),
    md5Hash: md5(o.data),
    crc32c: crc32c(o.data),
    etag: Buffer.from([0x08, ...varint(o.generation), 0x10, ...varint(o.metageneration)]).toString("base64"),
    timeCreated: time,
    updated: time,
    ...(o.metadata === undefined ? {} : { metadata: { ...o.metadata } })
  }
}

/** GCS object names: 1 to 1024 bytes of UTF-8 without carriage returns or line feeds, not "." or "..". */
export const checkObjectName = (name: string | null): string => {
  if (name === null || name === "") return fail(400, "Required parameter: name", { reason: "required" })
  if (Buffer.byteLength(name) > 1024 || /[\r\n]/.test(name) || name === "." || name === "..") {
    return fail(400, "The specified object name is not valid.", { reason: "invalid" })
  }
  return name
}

const conditionNotMet = () => fail(412, "At least one of the pre-conditions you specified did not hold.", { reason: "conditionNotMet" })

/** `ifGenerationMatch` (0: the object must not exist), `ifGenerationNotMatch`, `ifMetagenerationMatch`, `ifMetagenerationNotMatch`. */
export const checkObjectPreconditions = (existing: StoredObject | undefined, params: URLSearchParams): void => {
  const number = (key: string) => {
    const v = params.get(key)
    return v === null ? undefined : Number(v)
  }
  const generation = existing?.generation ?? 0
  const ifGen = number("ifGenerationMatch")
  if (ifGen !== undefined && ifGen !== generation) conditionNotMet()
  const ifNotGen = number("ifGenerationNotMatch")
  if (ifNotGen !== undefined && ifNotGen === generation) conditionNotMet()
  const ifMeta = number("ifMetagenerationMatch")
  if (ifMeta !== undefined && ifMeta !== existing?.metageneration) conditionNotMet()
  const ifNotMeta = number("ifMetagenerationNotMatch")
  if (ifNotMeta !== undefined && existing !== undefined && ifNotMeta === existing.metageneration) conditionNotMet()
}

export interface UploadMetadata {
  readonly contentType?: string
  readonly metadata?: Readonly<Record<string, string>>
}

/** The settable metadata of an object from a JSON body (multipart's first part or a resumable session's start). */
export const uploadMetadata = (json: Record<string, unknown>): UploadMetadata => {
  const out: { contentType?: string; metadata?: Record<string, string> } = {}
  if (typeof json.contentType === "string") out.contentType = json.contentType
  if (typeof json.metadata === "object" && json.metadata !== null) {
    out.metadata = Object.fromEntries(Object.entries(json.metadata).map(([k, v]) => [k, String(v)]))
  }
  return out
}

export interface MultipartPart {
  readonly contentType: string | undefined
  readonly body: Buffer
}

/** The parts of a `multipart/related` body. */
export const parseMultipart = (contentType: string | undefined, body: Buffer): Array<MultipartPart> => {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType ?? "")?.[1]
  if (boundary === undefined) return fail(400, "Missing multipart boundary.", { reason: "invalid" })
  const delimiter = Buffer.from(`--${boundary}`)
  const parts: Array<MultipartPart> = []
  let at = body.indexOf(delimiter)
  while (at !== -1) {
    let start = at + delimiter.length
    if (body.subarray(start, start + 2).toString() === "--") break
    if (body[start] === 0x0d) start++
    if (body[start] === 0x0a) start++
    const next = body.indexOf(delimiter, start)
    if (next === -1) break
    let end = next
    if (body[end - 1] === 0x0a) end--
    if (body[end - 1] === 0x0d) end--
    const raw = body.subarray(start, end)
    let split = raw.indexOf("\r\n\r\n")
    let skip = 4
    if (split === -1) {
      split = raw.indexOf("\n\n")
      skip = 2
    }
    const head = split === -1 ? "" : raw.subarray(0, split).toString("utf8")
    const type = /^content-type:\s*(.+)$/im.exec(head)?.[1]?.trim()
    parts.push({ contentType: type, body: split === -1 ? raw : raw.subarray(split + skip) })
    at = next
  }
  if (parts.length !== 2) return fail(400, "A multipart upload needs exactly a metadata part and a media part.", { reason: "invalid" })
  return parts
}
