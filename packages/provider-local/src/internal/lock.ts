import { randomBytes } from "node:crypto"
import { open, readFile, unlink } from "node:fs/promises"
import { join } from "node:path"

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * Claims `dataDir` for this provider instance: two supervisors of the same tenant directory would
 * start two gateways on one state. A lock left by a process that is gone is taken over. Resolves
 * with the release, or rejects with the pid of the holder.
 */
export const lockDataDir = async (dataDir: string): Promise<() => Promise<void>> => {
  const path = join(dataDir, "provider.lock")
  const mine = `${process.pid} ${randomBytes(8).toString("hex")}\n`
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, "wx", 0o600)
      await handle.writeFile(mine)
      await handle.close()
      return async () => {
        if ((await readFile(path, "utf8").catch(() => "")) === mine) await unlink(path).catch(() => {})
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    }
    const holder = Number.parseInt((await readFile(path, "utf8").catch(() => "")).split(" ")[0] ?? "", 10)
    if (Number.isInteger(holder) && alive(holder)) {
      throw new Error(`${dataDir} is in use by another local provider (pid ${holder}${holder === process.pid ? ", this process" : ""})`)
    }
    await unlink(path).catch(() => {})
  }
  throw new Error(`could not lock ${dataDir}`)
}
