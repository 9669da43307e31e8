import { spawn } from "node:child_process"
import { readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { alive, tempDataDir, tenantDir } from "./support/local.ts"

const host = fileURLToPath(new URL("./support/provider-host.ts", import.meta.url))
const dataDir = tempDataDir("orphans")
const tenants = ["orphan-a", "orphan-b", "orphan-deaf"]
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const parentOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("no orphans", () => {
  it("stops every gateway, even one deaf to SIGTERM, when the provider's process is killed with SIGKILL", { timeout: 20_000 }, async () => {
    const child = spawn(process.execPath, ["--conditions=@clawfleet/source", host, dataDir, ...tenants], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stderr = ""
    child.stderr.on("data", (d) => (stderr += d))
    const gone = new Promise((resolve) => child.on("exit", resolve))
    const pids: Array<number> = []
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the provider host never got ready: ${stderr}`)), 15_000)
        child.stdout.on("data", (d: Buffer) => {
          if (d.toString().includes("ready")) {
            clearTimeout(timer)
            resolve()
          }
        })
        child.on("exit", (code) => reject(new Error(`the provider host exited with ${code}: ${stderr}`)))
      })
      for (const tenant of tenants) {
        const gateway = Number(readFileSync(join(tenantDir(dataDir, tenant), "stand-in", "pid"), "utf8"))
        const watchdog = parentOf(gateway)
        assert.strictEqual(parentOf(watchdog), child.pid, "the gateway runs under a watchdog the provider started")
        pids.push(gateway, watchdog)
      }
      assert.isTrue(pids.every(alive))

      const deaf = pids[4]!
      child.kill("SIGKILL")
      await gone
      await sleep(400)
      assert.isTrue(alive(deaf), "the deaf gateway outlived SIGTERM, so SIGKILL must end it")
      const deadline = Date.now() + 5_000
      while (pids.some(alive) && Date.now() < deadline) await sleep(50)
      assert.deepStrictEqual(pids.filter(alive), [], "no gateway or watchdog outlives the provider")
    } finally {
      child.kill("SIGKILL")
      for (const pid of pids.filter(alive)) process.kill(pid, "SIGKILL")
    }
  })
})
