import { lstat, readdir, readFile } from "node:fs/promises"
import { join } from "node:path"
import { MARKER_FILE, MAX_CONTENT_BYTES, MAX_FILES, type SkillFileInput } from "./bundle.ts"

/**
 * Reads a skill directory from disk, ready for `SkillBundles.pack`. Only regular files and
 * directories are taken: a symlink could point anywhere on the packing machine, and the bundle
 * format has no way to say "link", so one is refused rather than followed or silently dropped.
 * An installed skill's marker is left out, so a skill synced to disk packs back to its own bytes.
 */
export const readSkillDirectory = async (root: string): Promise<ReadonlyArray<SkillFileInput>> => {
  const files: Array<SkillFileInput> = []
  let total = 0
  const walk = async (relative: string): Promise<void> => {
    const entries = await readdir(join(root, relative), { withFileTypes: true })
    for (const entry of entries) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`
      if (path === MARKER_FILE) continue
      if (entry.isDirectory()) {
        await walk(path)
        continue
      }
      if (!entry.isFile()) throw new Error(`${path} is not a regular file or directory (links are not allowed in a skill)`)
      // The limits are the bundle's own; checking while reading keeps a huge tree from being loaded.
      if (files.length >= MAX_FILES) throw new Error(`a skill holds at most ${MAX_FILES} files`)
      const stat = await lstat(join(root, path))
      total += stat.size
      if (total > MAX_CONTENT_BYTES) throw new Error(`a skill holds at most ${MAX_CONTENT_BYTES} bytes`)
      files.push({ path, mode: stat.mode & 0o777, content: await readFile(join(root, path)) })
    }
  }
  await walk("")
  return files
}
