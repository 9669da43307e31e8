import { randomBytes } from "node:crypto"
import { chmod, mkdir, open, readFile } from "node:fs/promises"
import { join } from "node:path"
import { Effect, Redacted } from "effect"

/**
 * The development fleet's key-encryption key, made once and kept beside its database (mode 0600),
 * so sealed signing keys and tenant keys still open after a restart. A production server takes
 * its key from a secret manager instead: a key next to the data protects nothing from whoever
 * reads the directory.
 */
export const devKeyEncryptionKey = (dataDir: string) =>
  Effect.tryPromise({
    try: async () => {
      await mkdir(dataDir, { recursive: true, mode: 0o700 })
      await chmod(dataDir, 0o700)
      const path = join(dataDir, "key-encryption-key")
      try {
        const handle = await open(path, "wx", 0o600)
        try {
          await handle.writeFile(randomBytes(32).toString("base64"))
          await handle.sync()
        } finally {
          await handle.close()
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
      }
      const key = (await readFile(path, "utf8")).trim()
      if (Buffer.from(key, "base64").length !== 32) throw new Error(`${path} does not hold a 32-byte base64 key`)
      return Redacted.make(key)
    },
    catch: (e) => new Error(`the development key in ${dataDir}: ${e instanceof Error ? e.message : String(e)}`)
  })
