import { mkdir } from "node:fs/promises"
import { Effect, Redacted, Result, Schema } from "effect"
import { bundleDigest, isDigest, MAX_BUNDLE_BYTES, unpackBundle } from "../skills/bundle.ts"
import { clearScratch, installSkill, readInstalled, removeSkill } from "../skills/install.ts"

export interface SkillSyncOptions {
  /** The control plane's base URL, as for the tenant agent. */
  readonly controlPlaneUrl: string
  /** The tenant's virtual key: the control plane lists and serves this tenant's grants only. */
  readonly tenantKey: Redacted.Redacted<string>
  /** The directory OpenClaw loads extra skills from; created when missing. */
  readonly skillsDir: string
  /** For tests and proxies; the global `fetch` by default. */
  readonly fetch?: typeof globalThis.fetch | undefined
}

/** A skill granted to the tenant, as `GET /agent/v1/skills` lists it. */
export interface GrantedSkill {
  readonly name: string
  readonly version: string
  readonly digest: string
}

export interface SkillSyncReport {
  readonly installed: ReadonlyArray<GrantedSkill>
  readonly removed: ReadonlyArray<string>
  /** Skills left as they were this round, with why; the next round tries again. */
  readonly failed: ReadonlyArray<{ readonly name: string; readonly digest?: string | undefined; readonly reason: string }>
  readonly unchanged: ReadonlyArray<string>
}

export const SkillSyncErrorReason = Schema.Literals(["Unreachable", "Refused", "InvalidResponse", "Filesystem", "NotConfigured"])
export type SkillSyncErrorReason = typeof SkillSyncErrorReason.Type

/** A sync that could not even start: nothing was installed or removed. */
export class SkillSyncError extends Schema.TaggedError<SkillSyncError>()("SkillSyncError", {
  reason: SkillSyncErrorReason,
  detail: Schema.String
}) {
  override get message() {
    return `skill sync failed (${this.reason}): ${this.detail}`
  }
}

const NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$/

/** The listing decides what gets removed, so it is taken whole or not at all. */
const parseListing = (body: unknown): ReadonlyArray<GrantedSkill> | undefined => {
  if (!Array.isArray(body)) return undefined
  const seen = new Set<string>()
  const out: Array<GrantedSkill> = []
  for (const s of body as Array<Partial<GrantedSkill>>) {
    if (typeof s?.name !== "string" || !NAME.test(s.name) || seen.has(s.name)) return undefined
    if (typeof s.version !== "string" || !VERSION.test(s.version) || typeof s.digest !== "string" || !isDigest(s.digest)) return undefined
    seen.add(s.name)
    out.push({ name: s.name, version: s.version, digest: s.digest })
  }
  return out
}

/** The response body, refused once it outgrows any valid bundle rather than after it is all in memory. */
const readCapped = async (res: Response): Promise<Uint8Array> => {
  if (Number(res.headers.get("content-length") ?? 0) > MAX_BUNDLE_BYTES) throw new Error("the bundle is larger than any valid bundle")
  const chunks: Array<Uint8Array> = []
  let size = 0
  for await (const chunk of res.body ?? []) {
    size += chunk.byteLength
    if (size > MAX_BUNDLE_BYTES) throw new Error("the bundle is larger than any valid bundle")
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e))

const run = async (options: SkillSyncOptions, signal: AbortSignal): Promise<SkillSyncReport> => {
  const doFetch = options.fetch ?? globalThis.fetch
  const base = new URL(options.controlPlaneUrl)
  const call = (path: string, timeoutMs: number) =>
    doFetch(new URL(path, base), {
      headers: { authorization: `Bearer ${Redacted.value(options.tenantKey)}` },
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])
    })

  const fail = (reason: SkillSyncErrorReason, detail: string) => new SkillSyncError({ reason, detail })
  const listed = await call("/agent/v1/skills", 10_000).catch((e) => {
    throw fail("Unreachable", messageOf(e))
  })
  if (listed.status !== 200) throw fail(listed.status >= 500 ? "Unreachable" : "Refused", `listing skills answered ${listed.status}`)
  const granted = parseListing(await listed.json().catch(() => undefined))
  if (granted === undefined) throw fail("InvalidResponse", "the skill listing is not a list of {name, version, digest}")

  const installed = await mkdir(options.skillsDir, { recursive: true })
    .then(() => clearScratch(options.skillsDir))
    .then(() => readInstalled(options.skillsDir))
    .catch((e) => {
      throw fail("Filesystem", messageOf(e))
    })

  const report = {
    installed: [] as Array<GrantedSkill>,
    removed: [] as Array<string>,
    failed: [] as Array<SkillSyncReport["failed"][number]>,
    unchanged: [] as Array<string>
  }
  for (const skill of granted) {
    if (installed.managed.get(skill.name)?.digest === skill.digest) {
      report.unchanged.push(skill.name)
      continue
    }
    if (installed.unmanaged.has(skill.name)) {
      report.failed.push({ name: skill.name, digest: skill.digest, reason: "a directory not installed by clawfleet is in the way" })
      continue
    }
    try {
      const res = await call(`/agent/v1/skills/${skill.digest}`, 60_000)
      if (res.status !== 200) {
        await res.body?.cancel()
        throw new Error(`downloading the bundle answered ${res.status}`)
      }
      const bytes = await readCapped(res)
      // The digest is what the grant means: bytes that hash to anything else are not this skill.
      if (bundleDigest(bytes) !== skill.digest) throw new Error("the bundle's SHA-256 does not match its digest")
      const files = unpackBundle(bytes)
      if (Result.isFailure(files)) throw new Error(`the bundle is invalid: ${files.failure.path} ${files.failure.message}`.trim())
      await installSkill(options.skillsDir, skill, files.success)
      report.installed.push(skill)
    } catch (e) {
      if (signal.aborted) throw e
      report.failed.push({ name: skill.name, digest: skill.digest, reason: messageOf(e) })
    }
  }
  const keep = new Set(granted.map((s) => s.name))
  for (const name of installed.managed.keys()) {
    if (keep.has(name)) continue
    try {
      if (await removeSkill(options.skillsDir, name)) report.removed.push(name)
    } catch (e) {
      report.failed.push({ name, reason: `could not remove: ${messageOf(e)}` })
    }
  }
  return report
}

/**
 * Brings `skillsDir` in line with the skills granted to the tenant: downloads each skill whose
 * digest is not installed yet, refuses any whose bytes do not hash to the digest the control plane
 * listed, installs whole directories atomically, and removes the ones clawfleet installed that are
 * no longer granted. A skill that fails is reported and left as it was; the others go on.
 */
export const syncSkills = (options: SkillSyncOptions): Effect.Effect<SkillSyncReport, SkillSyncError> =>
  Effect.tryPromise({
    try: (signal) => run(options, signal),
    catch: (e) => (e instanceof SkillSyncError ? e : new SkillSyncError({ reason: "Filesystem", detail: messageOf(e) }))
  })
