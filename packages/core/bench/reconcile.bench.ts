/**
 * Reconciler throughput: 10,000 tenants against the memory provider with 2 ms of simulated
 * latency on every provider call, 64 at a time. The floor is calls x latency / concurrency: no
 * reconciler can beat it, so the ratio to it is the reconciler's own overhead.
 *
 *   cd packages/core && node --expose-gc --conditions=@clawfleet/source bench/reconcile.bench.ts
 */
import { Effect, Layer } from "effect"
import { Clawfleet, Fleet, Reconciler, ReconcilerConfig, RuntimeCompiler, Tenants } from "../src/index.ts"
import { MemoryProvider, MemoryWorld } from "../src/testing.ts"

const TENANTS = Number(process.env.BENCH_TENANTS ?? 10_000)
const CONCURRENCY = 64
const LATENCY_MS = 2
const TARGET_RATIO = 1.5
const TARGET_MB = 512

const compiler = RuntimeCompiler.layerWith(({ access }) => Effect.succeed({ models: access.models, egress: access.egress }))
const stack = Reconciler.layer.pipe(
  Layer.provideMerge(compiler),
  Layer.provideMerge(MemoryProvider.layer()),
  Layer.provideMerge(Clawfleet.layerMemory),
  Layer.provide(
    Layer.succeed(ReconcilerConfig, {
      concurrency: CONCURRENCY,
      resyncMs: 3_600_000,
      backoff: { baseMs: 10, capMs: 1_000 },
      claimTtlMs: 60_000,
      retention: "keep",
      holder: "bench"
    })
  )
)

const program = Effect.gen(function* () {
  const fleet = yield* Fleet
  const world = yield* MemoryWorld
  const reconciler = yield* Reconciler
  for (let i = 0; i < TENANTS; i++) {
    yield* fleet.onboardPerson({ person: { id: `p${i}`, email: `p${i}@example.com`, displayName: `P${i}` } })
  }
  globalThis.gc?.()
  const rss0 = process.memoryUsage().rss
  let peak = rss0
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 50)
  world.setLatency(`${LATENCY_MS} millis`)
  const before = world.calls()
  const t0 = performance.now()
  yield* reconciler.start
  yield* reconciler.resyncAll
  yield* Effect.repeat(Effect.sleep("10 millis"), { until: () => reconciler.pending() === 0 })
  const wallMs = performance.now() - t0
  clearInterval(sampler)
  const after = world.calls()
  const calls = after.list + after.put + after.remove - (before.list + before.put + before.remove)
  const floorMs = (calls * LATENCY_MS) / CONCURRENCY
  const ready = (yield* Tenants.use((t) => t.all)).filter((t) => t.value.status.phase === "Ready").length
  const ratio = wallMs / floorMs
  // What the timers alone cost on this machine: the same number of 2 ms sleeps, 64 at a time.
  const s0 = performance.now()
  yield* Effect.forEach(
    Array.from({ length: CONCURRENCY }),
    () =>
      Effect.forEach(Array.from({ length: Math.ceil(calls / CONCURRENCY) }), () => Effect.sleep(`${LATENCY_MS} millis`), { discard: true }),
    { concurrency: CONCURRENCY, discard: true }
  )
  const sleepMs = performance.now() - s0
  const peakMb = peak / 2 ** 20
  const rows = [
    ["tenants (Ready)", `${TENANTS.toLocaleString("en-US")} (${ready.toLocaleString("en-US")})`],
    ["provider calls", calls.toLocaleString("en-US")],
    ["latency / concurrency", `${LATENCY_MS} ms / ${CONCURRENCY}`],
    ["wall time", `${(wallMs / 1000).toFixed(2)} s`],
    ["lower bound (calls x latency / concurrency)", `${(floorMs / 1000).toFixed(2)} s`],
    ["ratio to lower bound", `${ratio.toFixed(2)} (target <= ${TARGET_RATIO})`],
    ["the same sleeps alone, same run", `${(sleepMs / 1000).toFixed(2)} s (ratio ${(sleepMs / floorMs).toFixed(2)}: timer overshoot)`],
    ["peak RSS during the run", `${peakMb.toFixed(0)} MB (target <= ${TARGET_MB}; ${(rss0 / 2 ** 20).toFixed(0)} MB before)`]
  ]
  for (const [k, v] of rows) console.log(`${k!.padEnd(46)} ${v}`)
  if (ready !== TENANTS) throw new Error(`${TENANTS - ready} tenants did not reach Ready`)
  console.log(
    `target ratio <= ${TARGET_RATIO}: ${ratio <= TARGET_RATIO ? "MET" : "MISSED"}; peak <= ${TARGET_MB} MB: ${peakMb <= TARGET_MB ? "MET" : "MISSED"}`
  )
})

console.log("reconcile benchmark: memory store, memory provider")
console.log("command: cd packages/core && node --expose-gc --conditions=@clawfleet/source bench/reconcile.bench.ts")
await Effect.runPromise(Effect.scoped(Effect.provide(program, stack)))
