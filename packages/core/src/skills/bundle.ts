import { createHash } from "node:crypto"
import { Result } from "effect"
import type { Sha256Digest } from "../domain/Names.ts"
import type { FieldIssue } from "../Errors.ts"

/**
 * The skill bundle format, `clawfleet-skill/1`: one skill directory as a single JSON document,
 *
 *   {"format":"clawfleet-skill/1","files":[{"path":"SKILL.md","mode":420,"content":"<base64>"},…]}
 *
 * encoded as UTF-8 without a BOM, exactly as `JSON.stringify` writes it (no whitespace, keys in the
 * order shown), files sorted by the UTF-8 bytes of their path, contents in padded standard base64.
 * Only that one spelling is accepted: the same files always make the same bytes, so a catalog digest
 * (SHA-256 of those bytes) names the content rather than one of many ways to write it down.
 *
 * Paths are relative and normalised (`/`-separated, no empty, `.` or `..` segment, no backslash or
 * control character), a file may not sit where another path needs a directory, `SKILL.md` must be
 * at the top and `.clawfleet-skill` (the installer's marker) must not. Modes are 420 (0644) or 493
 * (0755): there are no links, devices or set-id bits to express. At most 1,000 files and 5 MiB of
 * content. The rules hold on upload and again on unpack; neither side trusts the other's checks.
 */
export const BUNDLE_FORMAT = "clawfleet-skill/1"
export const MAX_FILES = 1_000
export const MAX_CONTENT_BYTES = 5 * 1024 * 1024
export const MAX_PATH_BYTES = 1_024
export const MAX_SEGMENT_BYTES = 255
// Above the largest valid bundle (base64 of 5 MiB plus 1,000 escaped paths), so anything longer is
// refused before it is parsed.
export const MAX_BUNDLE_BYTES = 10 * 1024 * 1024
/** Written into every installed skill directory; only directories that carry it are clawfleet's. */
export const MARKER_FILE = ".clawfleet-skill"
export const SKILL_FILE = "SKILL.md"

export const FILE_MODE = 0o644
export const EXECUTABLE_MODE = 0o755

/** A file of a skill, as it travels and as it is written to disk. */
export interface SkillFile {
  readonly path: string
  readonly mode: number
  readonly content: Uint8Array
}

/** A file to pack: text is taken as UTF-8; any execute bit makes it 0755, else 0644. */
export interface SkillFileInput {
  readonly path: string
  readonly content: Uint8Array | string
  readonly mode?: number | undefined
}

const issue = (path: string, message: string): Result.Result<never, FieldIssue> => Result.fail({ path, message })

const utf8Length = (s: string) => Buffer.byteLength(s, "utf8")
const byPath = (a: { readonly path: string }, b: { readonly path: string }) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path))

/** Why `path` may not name a file in a bundle, or undefined when it may. */
export const pathProblem = (path: string): string | undefined => {
  if (path.length === 0) return "must not be empty"
  if (!path.isWellFormed()) return "must be well-formed Unicode"
  if (utf8Length(path) > MAX_PATH_BYTES) return `must be at most ${MAX_PATH_BYTES} bytes`
  if (path.startsWith("/")) return "must be relative, not absolute"
  if (path.includes("\\")) return "must use '/' as separator, not a backslash"
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(path)) return "must not contain control characters"
  for (const segment of path.split("/")) {
    if (segment === "") return "must be normalised: no empty segment, leading or trailing '/'"
    if (segment === "." || segment === "..") return "must be normalised: no '.' or '..' segment"
    if (utf8Length(segment) > MAX_SEGMENT_BYTES) return `must have segments of at most ${MAX_SEGMENT_BYTES} bytes`
  }
  if (path === MARKER_FILE) return `must not be ${MARKER_FILE}: the installer writes it`
  return undefined
}

/** The rules that span files: count, size, order, uniqueness, no file where a directory must be. */
const checkFiles = (files: ReadonlyArray<SkillFile>): Result.Result<ReadonlyArray<SkillFile>, FieldIssue> => {
  if (files.length > MAX_FILES) return issue("files", `must hold at most ${MAX_FILES} files, not ${files.length}`)
  let total = 0
  const paths = new Set<string>()
  for (const [i, file] of files.entries()) {
    const problem = pathProblem(file.path)
    if (problem !== undefined) return issue(`files.${i}.path`, problem)
    if (file.mode !== FILE_MODE && file.mode !== EXECUTABLE_MODE) return issue(`files.${i}.mode`, "must be 420 (0644) or 493 (0755)")
    total += file.content.byteLength
    if (total > MAX_CONTENT_BYTES) return issue("files", `must hold at most ${MAX_CONTENT_BYTES} bytes of content`)
    if (i > 0) {
      const order = byPath(files[i - 1]!, file)
      if (order === 0) return issue(`files.${i}.path`, `"${file.path}" appears twice`)
      if (order > 0) return issue(`files.${i}.path`, "files must be sorted by the UTF-8 bytes of their path")
    }
    paths.add(file.path)
  }
  for (const [i, file] of files.entries()) {
    const segments = file.path.split("/")
    for (let n = 1; n < segments.length; n++) {
      const parent = segments.slice(0, n).join("/")
      if (paths.has(parent)) return issue(`files.${i}.path`, `"${parent}" is a file, so it cannot also be a directory`)
    }
  }
  if (!paths.has(SKILL_FILE)) return issue("files", `must include ${SKILL_FILE} at the top`)
  return Result.succeed(files)
}

const serialize = (files: ReadonlyArray<SkillFile>): Uint8Array =>
  Buffer.from(
    JSON.stringify({
      format: BUNDLE_FORMAT,
      files: files.map((f) => ({ path: f.path, mode: f.mode, content: Buffer.from(f.content).toString("base64") }))
    }),
    "utf8"
  )

/** Builds the one canonical bundle for these files, in any order. */
export const packBundle = (files: ReadonlyArray<SkillFileInput>): Result.Result<Uint8Array, FieldIssue> => {
  const normalised = files
    .map(
      (f): SkillFile => ({
        path: f.path,
        mode: ((f.mode ?? FILE_MODE) & 0o111) === 0 ? FILE_MODE : EXECUTABLE_MODE,
        content: typeof f.content === "string" ? Buffer.from(f.content, "utf8") : f.content
      })
    )
    .sort(byPath)
  return Result.map(checkFiles(normalised), serialize)
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Reads a bundle back into files, refusing anything but a valid bundle in its canonical spelling. */
export const unpackBundle = (bytes: Uint8Array): Result.Result<ReadonlyArray<SkillFile>, FieldIssue> => {
  if (bytes.byteLength > MAX_BUNDLE_BYTES) return issue("", `must be at most ${MAX_BUNDLE_BYTES} bytes`)
  let doc: unknown
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes))
  } catch {
    return issue("", "must be a JSON document in UTF-8")
  }
  if (!isRecord(doc) || doc.format !== BUNDLE_FORMAT) return issue("format", `must be "${BUNDLE_FORMAT}"`)
  if (!Array.isArray(doc.files)) return issue("files", "must be an array")
  if (doc.files.length > MAX_FILES) return issue("files", `must hold at most ${MAX_FILES} files, not ${doc.files.length}`)
  const files: Array<SkillFile> = []
  for (const [i, entry] of (doc.files as Array<unknown>).entries()) {
    if (!isRecord(entry) || typeof entry.path !== "string" || typeof entry.mode !== "number" || typeof entry.content !== "string") {
      return issue(`files.${i}`, 'must be {"path": string, "mode": number, "content": base64 string}')
    }
    files.push({ path: entry.path, mode: entry.mode, content: Buffer.from(entry.content, "base64") })
  }
  const checked = checkFiles(files)
  if (Result.isFailure(checked)) return checked
  // Unknown keys, whitespace, other key orders or loose base64 all change the bytes, and with them
  // the digest: one set of files must have one digest.
  if (!Buffer.from(serialize(files)).equals(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) {
    return issue("", `must be in canonical form (compact JSON as ${BUNDLE_FORMAT} specifies, padded base64)`)
  }
  return checked
}

/** The catalog's digest of exactly these bytes. */
export const bundleDigest = (bytes: Uint8Array): Sha256Digest =>
  `sha256:${createHash("sha256").update(bytes).digest("hex")}` as Sha256Digest

export const isDigest = (s: string): s is Sha256Digest => /^sha256:[a-f0-9]{64}$/.test(s)
