/**
 * Time from creating a tenant to Ready with the real pinned OpenClaw, split into the gateway's own
 * start and what the local provider adds, and the memory each tenant's gateway takes.
 *
 *   npm run bench --workspace @clawfleet/provider-local
 *
 * "OpenClaw alone" starts the same gateway command by hand in a prepared directory and polls
 * `/readyz` every 25 ms, as the provider does; "through the provider" is `apply` to an
 * observation that says Ready, with the tenant agent in front as `npm start` runs it, and the
 * agent answering. The difference is our overhead. Memory is the resident set of the
 * gateway's processes once Ready, read from /proc.
 */
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { RuntimeProvider, Secrets } from "@clawfleet/core"
import { testRuntime } from "@clawfleet/core/testing"
import { Effect, Layer } from "effect"
import { ensureOpenClaw } from "../../core/test/support/openclaw.ts"
import * as Local from "../src/index.ts"

const RUNS = Number(process.env.RUNS ?? 3)
const version = testRuntime("bench").openclaw.version
const { entry } = await ensureOpenClaw(version)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer()
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })

const ready = async (port: number) => {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`)
    return r.ok && ((await r.json()) as { ready?: boolean }).ready === true
  } catch {
    return false
  }
}

/** Resident memory of every process whose environment names this state directory. */
const rssOf = (stateDir: string): number => {
  let kb = 0
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/environ`, "latin1").includes(`OPENCLAW_STATE_DIR=${stateDir}\0`)) continue
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0)
    } catch {
      // Gone, or not ours to read.
    }
  }
  return kb * 1024
}

/** The gateway by hand: the same command and environment the provider would give it. */
const alone = async (): Promise<number> => {
  const dir = mkdtempSync(join(tmpdir(), "cf-openclaw-alone-"))
  for (const sub of ["home", "tmp"]) mkdirSync(join(dir, sub))
  const configPath = join(dir, "openclaw.json")
  writeFileSync(configPath, JSON.stringify(testRuntime("bench").openclaw.config), { mode: 0o600 })
  const port = await freePort()
  const token = randomBytes(24).toString("base64url")
  const launch = Local.openclawCommand(entry)({ tenant: "bench", version, port, stateDir: dir, configPath, token })
  const t0 = performance.now()
  const child = spawn(launch.command, [...launch.args], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? "",
      ...launch.env,
      OPENCLAW_STATE_DIR: dir,
      OPENCLAW_CONFIG_PATH: configPath,
      HOME: join(dir, "home"),
      TMPDIR: join(dir, "tmp")
    },
    stdio: "ignore",
    detached: true
  })
  while (!(await ready(port))) await sleep(25)
  const ms = performance.now() - t0
  process.kill(-child.pid!, "SIGTERM")
  await new Promise((r) => child.once("exit", r))
  rmSync(dir, { recursive: true, force: true })
  return ms
}

const throughProvider = (dataDir: string, tenant: string) =>
  Effect.gen(function* () {
    const provider = yield* RuntimeProvider
    const rt = testRuntime(tenant)
    const t0 = performance.now()
    yield* provider.apply(rt)
    let spawned: number | undefined
    for (;;) {
      const o = yield* provider.observe(tenant)
      // The workload names the gateway's pid from the moment it is spawned.
      if (spawned === undefined && /gateway pid \d+/.test(o.workload.message)) spawned = performance.now() - t0
      if (o.workload.ready && o.endpoint !== undefined && (yield* Effect.promise(() => answers(o.endpoint!)))) break
      yield* Effect.sleep("25 millis")
    }
    const ms = performance.now() - t0
    const rss = rssOf(join(dataDir, "tenants", tenant))
    yield* provider.destroy(tenant, { data: "delete" })
    return { ms, rss, spawned: spawned ?? ms }
  })

const answers = (endpoint: string) =>
  fetch(`${endpoint}/clawfleet/health`).then(
    (r) => r.ok,
    () => false
  )

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const aloneMs: Array<number> = []
const viaMs: Array<number> = []
const rss: Array<number> = []
const spawnedMs: Array<number> = []
await alone() // warm the page cache, so neither side pays for the first read of 650 MB
const dataDir = mkdtempSync(join(tmpdir(), "cf-local-bench-"))
await Effect.runPromise(
  Effect.gen(function* () {
    for (let i = 0; i < RUNS; i++) {
      aloneMs.push(yield* Effect.promise(alone))
      const via = yield* throughProvider(dataDir, `bench-${i}`)
      viaMs.push(via.ms)
      rss.push(via.rss)
      spawnedMs.push(via.spawned)
    }
  }).pipe(
    Effect.provide(
      Local.layer({
        dataDir,
        gateway: { openclaw: entry },
        // Nothing answers there: pairing is not measured, only that the agent is up.
        agent: { controlPlaneUrl: "http://127.0.0.1:9", issuer: "http://127.0.0.1:9" }
      }).pipe(
        Layer.provide(
          Secrets.layerMemory(
            Object.fromEntries(Array.from({ length: RUNS }, (_, i) => [`clawfleet-tenant-bench-${i}/agent-key`, "cfk_bench"]))
          )
        )
      )
    )
  )
)
rmSync(dataDir, { recursive: true, force: true })

const a = median(aloneMs)
const v = median(viaMs)
console.log(`local provider, OpenClaw ${version}, ${RUNS} runs each, alternating; node ${process.version}\n`)
console.log(
  `OpenClaw alone, spawn to /readyz ready   ${aloneMs.map((x) => (x / 1000).toFixed(2)).join(", ")} s (median ${(a / 1000).toFixed(2)} s)`
)
console.log(
  `through the provider, apply to Ready     ${viaMs.map((x) => (x / 1000).toFixed(2)).join(", ")} s (median ${(v / 1000).toFixed(2)} s)`
)
// Pairs run back to back, so a slow spell of the machine tends to hit both sides of a pair.
const paired = median(viaMs.map((x, i) => x - aloneMs[i]!))
console.log(`difference of medians                    ${((v - a) / 1000).toFixed(2)} s`)
console.log(`median of paired differences             ${(paired / 1000).toFixed(2)} s (target for our overhead ≤ 1 s)`)
console.log(
  `apply to the gateway spawned (our part before OpenClaw starts)  ${spawnedMs.map((x) => (x / 1000).toFixed(2)).join(", ")} s (median ${(median(spawnedMs) / 1000).toFixed(2)} s)`
)
console.log(`memory per tenant (gateway RSS at Ready)  ${rss.map((x) => `${(x / 1024 / 1024).toFixed(0)} MB`).join(", ")}`)
