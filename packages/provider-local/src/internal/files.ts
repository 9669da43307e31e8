import { randomBytes } from "node:crypto"
import { chmod, mkdir, open, readFile, rename, rm, stat, unlink } from "node:fs/promises"
import { join } from "node:path"

/** Where one tenant's files are. Everything is inside `dir`, so removing it removes them all. */
export interface TenantLayout {
  /** The tenant's directory, and its `OPENCLAW_STATE_DIR`. */
  readonly dir: string
  readonly home: string
  /** The gateway's TMPDIR: tenants do not share a temporary directory. */
  readonly tmp: string
  /** `OPENCLAW_CONFIG_PATH`: where OpenClaw looks for its config in a state directory anyway. */
  readonly config: string
  /** clawfleet's own files, beside OpenClaw's (the skills directory lives here too). */
  readonly clawfleet: string
  readonly token: string
  readonly egress: string
  readonly port: string
  /** The tenant agent's port, kept so pairing links and open Control UIs survive a restart. */
  readonly agentPort: string
  /** Where the tenant agent syncs granted skills: OpenClaw's `${OPENCLAW_STATE_DIR}/clawfleet/skills`. */
  readonly skills: string
}

export const tenantsDir = (dataDir: string) => join(dataDir, "tenants")

export const layoutOf = (dataDir: string, tenant: string): TenantLayout => {
  const dir = join(tenantsDir(dataDir), tenant)
  const clawfleet = join(dir, "clawfleet")
  return {
    dir,
    home: join(dir, "home"),
    tmp: join(dir, "tmp"),
    config: join(dir, "openclaw.json"),
    clawfleet,
    token: join(clawfleet, "gateway-token"),
    egress: join(clawfleet, "egress.json"),
    port: join(clawfleet, "gateway-port"),
    agentPort: join(clawfleet, "agent-port"),
    skills: join(clawfleet, "skills")
  }
}

/** Permission bits as the octal string a plan shows, e.g. `0700`. */
export const modeString = (mode: number) => (mode & 0o777).toString(8).padStart(4, "0")

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT"

/** The permission bits of `path`, or undefined when it does not exist. */
export const modeOf = async (path: string): Promise<string | undefined> => {
  try {
    return modeString((await stat(path)).mode)
  } catch (error) {
    if (isMissing(error)) return undefined
    throw error
  }
}

export const readIfExists = async (path: string): Promise<string | undefined> => {
  try {
    return await readFile(path, "utf8")
  } catch (error) {
    if (isMissing(error)) return undefined
    throw error
  }
}

/** Creates a directory (and its parents) and sets its mode even when it was already there with another. */
export const ensureDir = async (path: string, mode: number) => {
  await mkdir(path, { recursive: true, mode })
  await chmod(path, mode)
}

/**
 * Replaces `path` with `content` so that a reader sees the old file or the new one, never a part:
 * written to a private temporary file in the same directory, flushed, then renamed over it. The
 * temporary file is created with `mode`, so the content is never readable by others, not even
 * for a moment.
 */
export const writeAtomically = async (path: string, content: string, mode: number) => {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`
  const handle = await open(temporary, "wx", mode)
  try {
    await handle.writeFile(content, "utf8")
    await handle.chmod(mode)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}

export const removeFile = async (path: string) => {
  try {
    await unlink(path)
  } catch (error) {
    if (!isMissing(error)) throw error
  }
}

export const removeTree = (path: string) => rm(path, { recursive: true, force: true })

/** A new gateway token: 256 random bits, URL-safe. */
export const newToken = () => randomBytes(32).toString("base64url")
