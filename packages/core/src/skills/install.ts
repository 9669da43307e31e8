import { randomBytes } from "node:crypto"
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises"
import { dirname, join, resolve, sep } from "node:path"
import { isDigest, MARKER_FILE, pathProblem, type SkillFile } from "./bundle.ts"

/**
 * Writing skills into the directory OpenClaw loads them from. A skill is written whole into a
 * temporary directory beside its destination and renamed into place, so the assistant never reads
 * half a skill. Every directory clawfleet installs carries a marker file; directories without one
 * were put there by someone else and are never changed or removed.
 */

/** Names starting with this are the installer's own scratch space, and are cleared at every sync. */
export const TEMP_PREFIX = ".clawfleet-tmp-"

const MAX_MARKER_BYTES = 4 * 1024

export interface Marker {
  readonly name: string
  readonly version: string
  readonly digest: string
}

export interface InstalledSkills {
  /** Directories that carry a marker, by directory name; the digest is absent when the marker is unreadable. */
  readonly managed: ReadonlyMap<string, { readonly digest?: string | undefined }>
  /** Everything else in the skills directory: never touched. */
  readonly unmanaged: ReadonlySet<string>
}

const errorCode = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code

/** The marker of `dir`, undefined without one, or "unreadable" when it is there but is not ours to parse. */
const readMarker = async (dir: string): Promise<Marker | "unreadable" | undefined> => {
  const path = join(dir, MARKER_FILE)
  const stat = await lstat(path).catch((e) => (errorCode(e) === "ENOENT" ? undefined : Promise.reject(e)))
  if (stat === undefined) return undefined
  if (!stat.isFile() || stat.size > MAX_MARKER_BYTES) return "unreadable"
  try {
    const m = JSON.parse(await readFile(path, "utf8")) as Partial<Marker>
    return typeof m.name === "string" && typeof m.digest === "string" && isDigest(m.digest)
      ? { name: m.name, version: String(m.version ?? ""), digest: m.digest }
      : "unreadable"
  } catch {
    return "unreadable"
  }
}

export const readInstalled = async (skillsDir: string): Promise<InstalledSkills> => {
  const managed = new Map<string, { digest?: string | undefined }>()
  const unmanaged = new Set<string>()
  for (const entry of await readdir(skillsDir, { withFileTypes: true })) {
    if (entry.name.startsWith(TEMP_PREFIX)) continue
    // Dirents do not follow links, so a symlink to a directory counts as someone else's.
    const marker = entry.isDirectory() ? await readMarker(join(skillsDir, entry.name)) : undefined
    if (marker === undefined) unmanaged.add(entry.name)
    else managed.set(entry.name, { digest: marker !== "unreadable" && marker.name === entry.name ? marker.digest : undefined })
  }
  return { managed, unmanaged }
}

/** Removes what an interrupted install or removal left behind. */
export const clearScratch = async (skillsDir: string): Promise<void> => {
  for (const entry of await readdir(skillsDir, { withFileTypes: true })) {
    if (entry.name.startsWith(TEMP_PREFIX) && entry.isDirectory()) await rm(join(skillsDir, entry.name), { recursive: true, force: true })
  }
}

const scratchName = (skillsDir: string) => join(skillsDir, `${TEMP_PREFIX}${randomBytes(6).toString("hex")}`)

/** Fails unless `dest` is absent or a directory clawfleet installed. */
const ensureOurs = async (dest: string): Promise<boolean> => {
  const stat = await lstat(dest).catch((e) => (errorCode(e) === "ENOENT" ? undefined : Promise.reject(e)))
  if (stat === undefined) return false
  if (!stat.isDirectory() || (await readMarker(dest)) === undefined) {
    throw new Error(`${dest} exists and was not installed by clawfleet; leaving it alone`)
  }
  return true
}

/**
 * Installs `files` as skill `marker.name`, replacing an earlier version. The files are checked
 * again here, so a caller that skipped `unpackBundle` still cannot write outside the skill.
 */
export const installSkill = async (skillsDir: string, marker: Marker, files: ReadonlyArray<SkillFile>): Promise<void> => {
  if (pathProblem(marker.name) !== undefined || marker.name.includes("/") || marker.name.startsWith(".")) {
    throw new Error(`"${marker.name}" cannot name a skill directory`)
  }
  const dest = join(skillsDir, marker.name)
  const replacing = await ensureOurs(dest)
  const tmp = resolve(await mkdtemp(join(skillsDir, TEMP_PREFIX)))
  try {
    await chmod(tmp, 0o755)
    for (const file of files) {
      const problem = pathProblem(file.path)
      const target = resolve(tmp, ...file.path.split("/"))
      if (problem !== undefined || !target.startsWith(tmp + sep)) throw new Error(`refusing to write "${file.path}"`)
      await mkdir(dirname(target), { recursive: true, mode: 0o755 })
      // `wx`: never through an existing entry, and two paths that one file system folds together fail.
      await writeFile(target, file.content, { flag: "wx", mode: file.mode })
      await chmod(target, file.mode)
    }
    await writeFile(join(tmp, MARKER_FILE), `${JSON.stringify(marker)}\n`, { flag: "wx", mode: 0o644 })
    // A directory cannot be renamed over a non-empty one: move the old version aside first. The
    // skill is absent for the moment between the two renames, never half there.
    const old = replacing ? scratchName(skillsDir) : undefined
    if (old !== undefined) await rename(dest, old)
    try {
      await rename(tmp, dest)
    } catch (e) {
      if (old !== undefined) await rename(old, dest).catch(() => undefined)
      throw e
    }
    if (old !== undefined) await rm(old, { recursive: true, force: true })
  } catch (e) {
    await rm(tmp, { recursive: true, force: true })
    throw e
  }
}

/** Removes skill `name` if clawfleet installed it; a directory without the marker stays. */
export const removeSkill = async (skillsDir: string, name: string): Promise<boolean> => {
  const dest = join(skillsDir, name)
  if (!(await ensureOurs(dest).catch(() => false))) return false
  // Renamed away first, so the assistant sees the skill go at once rather than file by file.
  const aside = scratchName(skillsDir)
  await rename(dest, aside)
  await rm(aside, { recursive: true, force: true })
  return true
}
