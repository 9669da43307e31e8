/**
 * Provisioning 1,000 tenants on K3s, against the fake API server with 5 ms of latency on every
 * request, at the provider's and reconciler's defaults (no client-side rate limit, 16 workers).
 * The floor is requests x latency / concurrency. Then a resync of all 1,000 with nothing changed.
 *
 *   cd packages/provider-k3s && node --expose-gc --conditions=@clawfleet/source bench/provision.bench.ts
 */

import { fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Clawfleet, Fleet, Reconciler, ReconcilerConfig, RuntimeCompiler, Tenants } from "@clawfleet/core"
import { KubeConfig } from "@kubernetes/client-node"
import { Effect, Layer } from "effect"
import * as K3s from "../src/index.ts"

const TENANTS = Number(process.env.BENCH_TENANTS ?? 1000)
const LATENCY_MS = 5
const TARGET_RATIO = 1.5

const child = fork(fileURLToPath(new URL("./fake-server.ts", import.meta.url)), [], {
  env: { ...process.env, FAKE_LATENCY_MS: String(LATENCY_MS) },
  execArgv: ["--conditions=@clawfleet/source"]
})
/** The child's next message. */
const next = <A>() => new Promise<A>((resolve) => child.once("message", (m) => resolve(m as A)))
const { url } = await next<{ url: string }>()
type Stats = { cpuMs: number; byVerb: Record<string, number>; total: number; writes: number; objects: number }
const stats = () => {
  const p = next<Stats>()
  child.send("stats")
  return p
}
const reset = () => {
  const p = next<unknown>()
  child.send("reset")
  return p
}

const kubeConfig = new KubeConfig()
kubeConfig.loadFromOptions({
  clusters: [{ name: "fake", server: url, skipTLSVerify: true }],
  users: [{ name: "bench", token: "bench" }],
  contexts: [{ name: "fake", cluster: "fake", user: "bench" }],
  currentContext: "fake"
})
const platform = {
  tokenProxy: { namespace: "clawfleet", podLabels: { app: "token-proxy" }, port: 8080 },
  egressProxy: { namespace: "clawfleet", podLabels: { app: "egress-proxy" }, port: 3128 },
  toolBroker: { namespace: "clawfleet", podLabels: { app: "tool-broker" }, port: 8081 }
}
const concurrency = ReconcilerConfig.defaultValue().concurrency
const stack = Reconciler.layer.pipe(
  Layer.provideMerge(RuntimeCompiler.layerWith(({ access }) => Effect.succeed({ models: access.models }))),
  Layer.provideMerge(K3s.layer({ kubeConfig, config: { platform } })),
  Layer.provideMerge(Clawfleet.layerMemory),
  Layer.provide(Layer.succeed(ReconcilerConfig, { ...ReconcilerConfig.defaultValue(), resyncMs: 3_600_000 }))
)

const drain = (reconciler: Reconciler["Service"]) => Effect.repeat(Effect.sleep("20 millis"), { until: () => reconciler.pending() === 0 })

const program = Effect.gen(function* () {
  const fleet = yield* Fleet
  const reconciler = yield* Reconciler
  for (let i = 0; i < TENANTS; i++) {
    yield* fleet.onboardPerson({ person: { id: `p${i}`, email: `p${i}@example.com`, displayName: `P${i}` } })
  }
  const startup = yield* Effect.promise(stats)
  yield* Effect.promise(reset)
  const serverCpu0 = (yield* Effect.promise(stats)).cpuMs
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  yield* reconciler.start
  yield* reconciler.resyncAll
  yield* drain(reconciler)
  const wallMs = performance.now() - t0
  const first = yield* Effect.promise(stats)
  const clientCpu = process.cpuUsage(cpu0)
  const cpuSeconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`
  const ready = (yield* Tenants.use((t) => t.all)).filter((t) => t.value.status.phase === "Ready").length
  const floorMs = (first.total * LATENCY_MS) / concurrency

  yield* Effect.promise(reset)
  const r0 = performance.now()
  yield* reconciler.resyncAll
  yield* drain(reconciler)
  const resyncMs = performance.now() - r0
  const resync = yield* Effect.promise(stats)

  const ratio = wallMs / floorMs
  const rows = [
    ["tenants (Ready)", `${TENANTS} (${ready})`],
    [
      "requests at start (the cache's list and watch per kind)",
      `${startup.total} (${Object.entries(startup.byVerb)
        .map(([v, n]) => `${v} ${n}`)
        .join(", ")})`
    ],
    ["objects created", String(first.objects)],
    [
      "requests (by verb)",
      `${first.total} (${Object.entries(first.byVerb)
        .map(([v, n]) => `${v} ${n}`)
        .join(", ")})`
    ],
    ["requests per tenant", (first.total / TENANTS).toFixed(2)],
    ["writes per object", (first.writes / first.objects).toFixed(2)],
    ["latency / concurrency", `${LATENCY_MS} ms / ${concurrency}`],
    ["wall time", `${(wallMs / 1000).toFixed(2)} s`],
    ["lower bound (requests x latency / concurrency)", `${(floorMs / 1000).toFixed(2)} s`],
    ["ratio to lower bound", `${ratio.toFixed(2)} (target <= ${TARGET_RATIO})`],
    [
      "CPU: client (reconciler, provider) / fake server",
      `${cpuSeconds((clientCpu.user + clientCpu.system) / 1000)} / ${cpuSeconds(first.cpuMs - serverCpu0)}`
    ],
    ["no-change resync of all", `${(resyncMs / 1000).toFixed(2)} s, ${resync.writes} writes, ${resync.total - resync.writes} reads`]
  ]
  for (const [k, v] of rows) console.log(`${k!.padEnd(56)} ${v}`)
  if (ready !== TENANTS) throw new Error(`${TENANTS - ready} tenants did not reach Ready`)
  console.log(
    `ratio <= ${TARGET_RATIO}: ${ratio <= TARGET_RATIO ? "MET" : "MISSED"}; one write per object: ${first.writes <= first.objects ? "MET" : "MISSED"}; resync writes 0: ${resync.writes === 0 ? "MET" : "MISSED"}`
  )
})

console.log("provisioning benchmark: K3s provider, fake API server (own process)")
console.log("command: cd packages/provider-k3s && node --expose-gc --conditions=@clawfleet/source bench/provision.bench.ts")
try {
  await Effect.runPromise(Effect.scoped(Effect.provide(program, stack)))
} finally {
  child.send("exit")
}
