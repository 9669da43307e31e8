/**
 * Token proxy overhead: the latency it adds to a streamed chat completion and the CPU it spends
 * per request, against the same fake upstream reached directly and through a bare node:http
 * pass-through proxy, all measured in one run. The upstream, each proxy and this load generator
 * run in separate processes.
 *
 *   npm run bench:proxy --workspace @clawfleet/core          (store in memory)
 *   PG_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:proxy --workspace @clawfleet/core
 */
import { type ChildProcess, execFileSync, fork } from "node:child_process"
import * as http from "node:http"
import { fileURLToPath } from "node:url"
import { stats, table } from "./measure.ts"

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
const LATENCY_MS = Number(process.env.FAKE_LATENCY_MS ?? 20)
const CHUNKS = 20
const LEVELS = [1, 50, 200]
const pgUrl = process.env.PG_URL
const schema = `cf_bench_${process.pid}`

interface Child {
  readonly proc: ChildProcess
  readonly url: string
  readonly keys: ReadonlyArray<string>
}

const start = (file: string, env: Record<string, string>): Promise<Child> =>
  new Promise((resolve, reject) => {
    const proc = fork(here(file), {
      env: { ...process.env, ...env },
      execArgv: ["--conditions=@clawfleet/source"],
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    proc.once("message", (m: any) => resolve({ proc, url: m.url, keys: m.keys ?? ["none"] }))
    proc.once("exit", (code) => reject(new Error(`${file} exited with ${code}`)))
  })

const cpuMs = (child: Child): Promise<number> =>
  new Promise((resolve) => {
    child.proc.once("message", (m: any) => resolve(m.cpuMs))
    child.proc.send("cpu")
  })

const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 })
const body = JSON.stringify({
  model: "gpt-4.1",
  stream: true,
  max_tokens: 64,
  messages: [{ role: "user", content: "Summarise the quarterly report in three sentences." }]
})

/** One streamed request to its last byte, in nanoseconds. */
const once = (base: string, key: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const url = new URL(`${base}/v1/chat/completions`)
    const t0 = process.hrtime.bigint()
    const req = http.request(
      {
        hostname: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        agent,
        headers: { "content-type": "application/json", authorization: `Bearer ${key}`, "content-length": Buffer.byteLength(body) }
      },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`${base} answered ${res.statusCode}`))
        res.on("data", () => {})
        res.on("end", () => resolve(Number(process.hrtime.bigint() - t0)))
      }
    )
    req.on("error", reject)
    req.end(body)
  })

/** `concurrency` callers in a closed loop until `total` requests are done. */
const load = async (base: string, keys: ReadonlyArray<string>, concurrency: number, total: number): Promise<Float64Array> => {
  const samples = new Float64Array(total)
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      const key = keys[worker % keys.length]!
      while (next < total) {
        const i = next++
        samples[i] = await once(base, key)
      }
    })
  )
  return samples
}

const main = async () => {
  const llm = await start("./llm-child.ts", { FAKE_LATENCY_MS: String(LATENCY_MS), FAKE_CHUNKS: String(CHUNKS) })
  const ours = await start("./proxy-child.ts", {
    PROXY: "clawfleet",
    ...(process.env.PROFILE_DIR !== undefined ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.PROFILE_DIR}` } : {}),
    UPSTREAM_URL: llm.url,
    ...(pgUrl !== undefined ? { PG_URL: pgUrl, PG_SCHEMA: schema } : {})
  })
  const bare = await start("./proxy-child.ts", { PROXY: "bare", UPSTREAM_URL: llm.url })
  // Streams spread over many tenants, as a fleet's are; and all of one tenant, whose metering
  // rows every request then queues on.
  const targets = [
    { name: "direct", url: llm.url, keys: ["none"], child: undefined },
    { name: "bare pass-through", url: bare.url, keys: ["none"], child: bare },
    { name: "clawfleet", url: ours.url, keys: ours.keys, child: ours },
    { name: "clawfleet, one tenant", url: ours.url, keys: ours.keys.slice(0, 1), child: ours }
  ] as const

  console.log(
    `token proxy: streamed chat completion, upstream first byte after ${LATENCY_MS} ms, ${CHUNKS} chunks; store ${pgUrl === undefined ? "in memory" : "PostgreSQL"}; node ${process.version}\n`
  )
  const rows: Array<Array<string>> = [["path", "streams", "requests", "p50 ms", "p99 ms", "added p50", "added p99", "CPU µs/req"]]
  const cpuPerReq: Record<string, number> = {}
  for (const concurrency of LEVELS) {
    // At one stream a request takes the upstream's delay, so fewer of them keep the run short.
    const total = concurrency === 1 ? 200 : concurrency * 10
    const base: Record<string, { p50: number; p99: number }> = {}
    for (const t of targets) {
      await load(t.url, t.keys, concurrency, Math.min(total, 100)) // warm-up
      const before = t.child !== undefined ? await cpuMs(t.child) : 0
      const s = stats(await load(t.url, t.keys, concurrency, total))
      const after = t.child !== undefined ? await cpuMs(t.child) : 0
      const cpu = t.child !== undefined ? ((after - before) * 1000) / total : Number.NaN
      cpuPerReq[`${t.name}@${concurrency}`] = cpu
      base[t.name] = { p50: s.p50, p99: s.p99 }
      const direct = base.direct!
      rows.push([
        t.name,
        String(concurrency),
        String(total),
        (s.p50 / 1000).toFixed(2),
        (s.p99 / 1000).toFixed(2),
        t.name === "direct" ? "-" : ((s.p50 - direct.p50) / 1000).toFixed(2),
        t.name === "direct" ? "-" : ((s.p99 - direct.p99) / 1000).toFixed(2),
        Number.isNaN(cpu) ? "-" : cpu.toFixed(0)
      ])
    }
  }
  console.log(`${table(rows)}\n`)
  for (const name of ["clawfleet", "clawfleet, one tenant"]) {
    const ratios = LEVELS.map((c) => (cpuPerReq[`${name}@${c}`]! / cpuPerReq[`bare pass-through@${c}`]!).toFixed(2))
    console.log(`CPU per request, ${name} / bare pass-through at ${LEVELS.join(", ")} streams: ${ratios.join(", ")} (target ≤ 2)`)
  }

  for (const c of [llm, ours, bare]) c.proc.send("exit")
  if (pgUrl !== undefined)
    execFileSync("psql", [pgUrl, "-qc", `set client_min_messages = warning; drop schema if exists "${schema}" cascade`])
}

await main()
