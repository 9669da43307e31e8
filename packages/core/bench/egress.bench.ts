/**
 * CONNECT set-up through the egress proxy against a bare node:http CONNECT pass-through.
 *
 *   cd packages/core && node --expose-gc --conditions=@clawfleet/source bench/egress.bench.ts
 *
 * Method. Each proxy runs in a child process of its own, so its CPU time (process.cpuUsage
 * around each measured run) is the proxy's alone, not the clients' or the upstream's. The parent
 * runs a TCP echo upstream on loopback and closed-loop clients: at concurrency C, C workers each
 * open a connection, send CONNECT, wait for the 200, send one byte and wait for its echo, then
 * close and start over. A sample is the time from opening the connection to the echoed byte, so
 * it includes the TCP handshake to the proxy and from the proxy to the upstream. The egress proxy
 * runs with an in-memory gate (a map, a set and an array for the audit log) and an injected
 * resolver that answers at once: what is measured is the proxy's own work. A gate backed by a
 * database adds its authenticate, grant and audit-append round trips to every connection.
 * A third child runs the same proxy on the fleet's own gate (`TenantGate.layer`: virtual key,
 * grant index, audit chain), in memory or with PG_URL on PostgreSQL, to show what the store adds.
 * The proxies are measured at each level, in alternating order, after a warm-up run.
 */
import { execFileSync, fork } from "node:child_process"
import * as http from "node:http"
import * as net from "node:net"
import { availableParallelism } from "node:os"
import { Clawfleet, EgressProxy, Fleet, Store, TenantGate, VirtualKeys, withActor } from "@clawfleet/core"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Logger, Redacted } from "effect"
import { type Stats, stats, table } from "./measure.ts"

const LEVELS: ReadonlyArray<readonly [concurrency: number, connections: number]> = [
  [1, 2_000],
  [50, 3_000],
  [200, 4_000]
]
const WARMUP = 300
const HOST = "echo.bench.test"
const TOKEN = "bench-token"
const { hrtime } = process

type Kind = "egress" | "fleet" | "bare"
type ToChild = "cpu" | "exit"
type FromChild = { readonly port: number; readonly token?: string } | { readonly cpu: NodeJS.CpuUsage }
const pgUrl = process.env.PG_URL

// --- child: one proxy ----------------------------------------------------------------------------

const bare = (): Promise<number> =>
  new Promise((resolve) => {
    const server = http.createServer((_req, res) => res.writeHead(400).end())
    server.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      const [host, port] = (req.url ?? "").split(":")
      const upstream = net.connect({ host: host!, port: Number(port), noDelay: true }, () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n")
        if (head.length > 0) upstream.write(head)
        upstream.pipe(client)
        client.pipe(upstream)
      })
      const close = () => {
        client.destroy()
        upstream.destroy()
      }
      upstream.on("error", close)
      client.on("error", close)
      upstream.on("close", close)
      client.on("close", close)
    })
    server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port))
  })

const egress = (echoPort: number): Promise<number> => {
  let audited = 0
  const gate = Layer.succeed(
    TenantGate,
    TenantGate.of({
      authenticate: (token) => Effect.succeed(token === TOKEN ? { tenant: "bench", owner: "bench@example.com" } : undefined),
      allowsEgress: (_identity, host) => Effect.succeed(host === HOST),
      grantedModel: () => Effect.succeed(undefined),
      grantedModels: () => Effect.succeed([]),
      grantedTool: () => Effect.succeed(undefined),
      grantedKnowledge: () => Effect.succeed(false),
      audit: () => Effect.sync(() => void audited++)
    })
  )
  const proxy = EgressProxy.layer({
    ports: [echoPort],
    allowPrivate: ["127.0.0.1/32"],
    lookup: async () => [{ address: "127.0.0.1", family: 4 }]
  }).pipe(Layer.provide(gate))
  return new Promise((resolve) => {
    Effect.runFork(
      Effect.gen(function* () {
        resolve((yield* EgressProxy).port)
        return yield* Effect.never
      }).pipe(Effect.provide(proxy), Effect.scoped)
    )
  })
}

/**
 * The proxy on the fleet's own gate: a tenant, its key, an egress grant, and every decision
 * appended to the audit chain, in memory or (with PG_URL) on PostgreSQL.
 */
const fleet = (echoPort: number): Promise<{ port: number; token: string }> => {
  const schema = process.env.PG_SCHEMA ?? "cf_bench_egress"
  const store =
    pgUrl === undefined
      ? Clawfleet.layerMemory
      : Clawfleet.layer(Store.layerSql({ schema })).pipe(
          Layer.provideMerge(PgClient.layer({ url: Redacted.make(pgUrl), maxConnections: 10 }))
        )
  const layer = EgressProxy.layer({
    ports: [echoPort],
    allowPrivate: ["127.0.0.1/32"],
    lookup: async () => [{ address: "127.0.0.1", family: 4 }]
  }).pipe(Layer.provideMerge(TenantGate.layer), Layer.provideMerge(VirtualKeys.layer), Layer.provideMerge(store))
  return new Promise((resolve) => {
    Effect.runFork(
      Effect.gen(function* () {
        const f = yield* Fleet
        yield* f.onboardPerson({ person: { id: "bench", email: "bench@example.com", displayName: "Bench" }, tenant: { name: "bench" } })
        yield* f.putCatalogItem("egress", { name: HOST })
        yield* f.grant({ subject: { kind: "person", id: "bench" }, resource: { kind: "egress", name: HOST }, effect: "allow" })
        const { key } = yield* (yield* VirtualKeys).issue("bench")
        resolve({ port: (yield* EgressProxy).port, token: Redacted.value(key) })
        return yield* Effect.never
      }).pipe(withActor("bench"), Effect.provide(layer), Effect.scoped, Effect.provide(Logger.layer([])))
    )
  })
}

const child = async (kind: Kind, echoPort: number) => {
  const started = kind === "bare" ? { port: await bare() } : kind === "egress" ? { port: await egress(echoPort) } : await fleet(echoPort)
  process.on("message", (m: ToChild) => {
    if (m === "cpu") process.send!({ cpu: process.cpuUsage() } satisfies FromChild)
    else process.exit(0)
  })
  process.on("disconnect", () => process.exit(0))
  process.send!(started satisfies FromChild)
}

// --- parent: upstream, clients, report -------------------------------------------------------------

interface Proxy {
  readonly kind: Kind
  readonly port: number
  readonly token: string
  readonly cpu: () => Promise<NodeJS.CpuUsage>
  readonly stop: () => void
}

const start = (kind: Kind, echoPort: number): Promise<Proxy> =>
  new Promise((resolve) => {
    const proc = fork(process.argv[1]!, [kind, String(echoPort)], {
      execArgv: process.execArgv,
      env: { ...process.env, PG_SCHEMA: `cf_bench_egress_${process.pid}` }
    })
    const waiting: Array<(cpu: NodeJS.CpuUsage) => void> = []
    proc.on("message", (m: FromChild) => {
      if ("port" in m)
        resolve({
          kind,
          port: m.port,
          token: m.token ?? TOKEN,
          cpu: () =>
            new Promise((r) => {
              waiting.push(r)
              proc.send("cpu" satisfies ToChild)
            }),
          stop: () => proc.send("exit" satisfies ToChild)
        })
      else waiting.shift()?.(m.cpu)
    })
  })

/** One connection: CONNECT, the 200, one byte echoed. Nanoseconds from opening to the echo. */
const once = (proxy: Proxy, authority: string, auth: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const t0 = hrtime.bigint()
    const socket = net.connect({ port: proxy.port, host: "127.0.0.1", noDelay: true })
    let head = ""
    let established = false
    socket.on("error", reject)
    socket.on("data", (chunk: Buffer) => {
      if (established) {
        const ns = Number(hrtime.bigint() - t0)
        socket.destroy()
        resolve(ns)
        return
      }
      head += chunk.toString("latin1")
      if (!head.includes("\r\n\r\n")) return
      if (!head.startsWith("HTTP/1.1 200")) {
        socket.destroy()
        reject(new Error(`${proxy.kind}: ${head.split("\r\n")[0]}`))
        return
      }
      established = true
      socket.write("x")
    })
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`)
  })

const run = async (proxy: Proxy, echoPort: number, concurrency: number, connections: number) => {
  const authority = proxy.kind === "bare" ? `127.0.0.1:${echoPort}` : `${HOST}:${echoPort}`
  const auth = proxy.kind === "bare" ? "" : `Proxy-Authorization: Bearer ${proxy.token}\r\n`
  const ns = new Float64Array(connections)
  let next = 0
  const worker = async () => {
    while (next < connections) {
      const i = next++
      ns[i] = await once(proxy, authority, auth)
    }
  }
  const cpu0 = await proxy.cpu()
  const t0 = hrtime.bigint()
  await Promise.all(Array.from({ length: concurrency }, worker))
  const wallMs = Number(hrtime.bigint() - t0) / 1e6
  const cpu1 = await proxy.cpu()
  const cpuUs = cpu1.user - cpu0.user + cpu1.system - cpu0.system
  return { stats: stats(ns), cpuPerConnUs: cpuUs / connections, perSecond: (connections / wallMs) * 1000 }
}

const parent = async () => {
  console.log("egress proxy benchmark: CONNECT set-up, EgressProxy vs a bare node:http CONNECT proxy")
  console.log("command: cd packages/core && node --expose-gc --conditions=@clawfleet/source bench/egress.bench.ts")
  console.log(`node ${process.version}, ${process.platform}/${process.arch}, ${availableParallelism()} cpus`)
  const echo = net.createServer((socket) => {
    socket.setNoDelay(true)
    socket.on("error", () => {})
    socket.pipe(socket)
  })
  const echoPort = await new Promise<number>((resolve) =>
    echo.listen(0, "127.0.0.1", () => resolve((echo.address() as net.AddressInfo).port))
  )
  const proxies = [await start("egress", echoPort), await start("fleet", echoPort), await start("bare", echoPort)] as const
  const started = hrtime.bigint()
  const rows: Array<Array<string>> = [["concurrency", "proxy", "conns", "p50 ms", "p99 ms", "conn/s", "proxy CPU µs/conn"]]
  const summary: Array<string> = []
  const ms = (us: number) => (us / 1000).toFixed(3)
  for (const [index, [concurrency, connections]] of LEVELS.entries()) {
    const results = new Map<Kind, { stats: Stats; cpuPerConnUs: number; perSecond: number }>()
    const order = index % 2 === 0 ? proxies : ([...proxies].reverse() as unknown as typeof proxies)
    for (const proxy of order) {
      await run(proxy, echoPort, concurrency, Math.min(WARMUP, connections))
      results.set(proxy.kind, await run(proxy, echoPort, concurrency, connections))
    }
    const e = results.get("egress")!
    const f = results.get("fleet")!
    const b = results.get("bare")!
    for (const [kind, r] of [
      ["egress", e],
      [`fleet gate (${pgUrl === undefined ? "memory" : "PostgreSQL"})`, f],
      ["bare", b]
    ] as const) {
      rows.push([
        String(concurrency),
        kind,
        String(connections),
        ms(r.stats.p50),
        ms(r.stats.p99),
        r.perSecond.toFixed(0),
        r.cpuPerConnUs.toFixed(0)
      ])
    }
    const ratio = (a: number, c: number) => `${(a / c).toFixed(2)}x`
    rows.push([
      "",
      "ratio",
      "",
      ratio(e.stats.p50, b.stats.p50),
      ratio(e.stats.p99, b.stats.p99),
      "",
      ratio(e.cpuPerConnUs, b.cpuPerConnUs)
    ])
    rows.push([
      "",
      "fleet ratio",
      "",
      ratio(f.stats.p50, b.stats.p50),
      ratio(f.stats.p99, b.stats.p99),
      "",
      ratio(f.cpuPerConnUs, b.cpuPerConnUs)
    ])
    summary.push(
      `c=${concurrency} p50 ${ratio(e.stats.p50, b.stats.p50)} p99 ${ratio(e.stats.p99, b.stats.p99)} CPU ${ratio(e.cpuPerConnUs, b.cpuPerConnUs)}`
    )
  }
  console.log(`\nset-up time = open TCP to proxy -> 200 -> one byte echoed by the upstream (loopback)`)
  console.log(table(rows))
  console.log(
    `\nsummary: EgressProxy vs bare CONNECT proxy: ${summary.join("; ")} (took ${(Number(hrtime.bigint() - started) / 1e9).toFixed(1)} s)`
  )
  for (const proxy of proxies) proxy.stop()
  echo.close()
  if (pgUrl !== undefined) {
    execFileSync("psql", [
      pgUrl,
      "-qc",
      `set client_min_messages = warning; drop schema if exists "cf_bench_egress_${process.pid}" cascade`
    ])
  }
}

const [role, echoArg] = process.argv.slice(2)
if (role === "egress" || role === "fleet" || role === "bare") await child(role, Number(echoArg))
else await parent()
