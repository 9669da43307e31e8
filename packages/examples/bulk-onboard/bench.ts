// Plan and apply time and peak RSS of bulk onboarding, over one store per run:
//   sh scripts/run node --conditions=@clawfleet/source packages/examples/bulk-onboard/bench.ts \
//     [--store memory|pglite|pg] [--people 5000] [--concurrency 16] [--pg-url postgres://...]
// --store pg uses --pg-url, else CLAWFLEET_BENCH_PG_URL or CLAWFLEET_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test, as the API bench), in a fresh schema
// it drops after.
// With node --expose-gc it also reports the live heap, which tells retained data from GC headroom.
import { parseArgs } from "node:util"
import { Fleet } from "@clawfleet/core"
import { Effect } from "effect"
import { fleetOn, type StoreName, storeNames } from "./benchStores.ts"
import { apply, plan } from "./bulkOnboard.ts"

// Node, Effect and the core are loaded and nothing has run yet: the floor every figure sits on.
const floor = process.memoryUsage.rss()

const { values } = parseArgs({
  options: {
    store: { type: "string", default: "memory" },
    people: { type: "string", default: "5000" },
    concurrency: { type: "string", default: "16" },
    "pg-url": { type: "string" }
  }
})
const store = values.store as StoreName
if (!storeNames.includes(store)) throw new Error(`--store must be one of ${storeNames.join(", ")}`)
const people = Number(values.people)
const concurrency = Number(values.concurrency)
const pgUrl =
  values["pg-url"] ?? process.env.CLAWFLEET_BENCH_PG_URL ?? process.env.CLAWFLEET_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"

const PLAN_TARGET_MS = 2_000
const RSS_TARGET = 256 * 10 ** 6

let sampled = floor
const sampler = setInterval(() => {
  sampled = Math.max(sampled, process.memoryUsage.rss())
}, 5)

const timed = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const start = performance.now()
    const a = yield* self
    return [a, performance.now() - start] as const
  })

// The heap still reachable after a full collection, when --expose-gc allows one.
const liveHeap = () => {
  if (globalThis.gc === undefined) return undefined
  globalThis.gc()
  return process.memoryUsage().heapUsed
}

const program = Effect.gen(function* () {
  const ready = process.memoryUsage.rss()
  const liveReady = liveHeap()
  const lines = ["id,email,displayName,team,department"]
  for (let i = 0; i < people; i++) lines.push(`p${i},p${i}@example.com,Person ${i},team-${i % 100},dept-${i % 20}`)
  const csv = `${lines.join("\n")}\n`
  const [first, planMs] = yield* timed(plan(csv))
  const [report, applyMs] = yield* timed(apply(first, { concurrency }))
  const liveApplied = liveHeap()
  const [second, replanMs] = yield* timed(plan(csv))
  clearInterval(sampler)
  const peak = Math.max(sampled, process.memoryUsage.rss(), process.resourceUsage().maxRSS * 1024)

  // The call apply makes for each person, issued directly for a sample of new people: what the
  // store alone costs, so apply's time per change over it is the example's own share.
  const direct = Math.max(1, Math.min(500, Math.floor(people / 10)))
  const fleet = yield* Fleet
  const onboard = (i: number) =>
    fleet.onboardPerson({
      person: { id: `direct-${i}`, email: `direct-${i}@example.com`, displayName: `Direct ${i}`, team: "team-0", department: "dept-0" }
    })
  const [, directMs] = yield* timed(
    Effect.forEach(
      Array.from({ length: direct }, (_, i) => i),
      onboard,
      { concurrency, discard: true }
    )
  )
  return {
    peak,
    direct,
    directMs,
    ready,
    liveReady,
    liveApplied,
    changes: first.changes.length,
    bad: first.bad.length,
    report,
    replanned: second.changes.length,
    planMs,
    applyMs,
    replanMs
  }
})

const r = await Effect.runPromise(Effect.provide(program, fleetOn(store, pgUrl)))
const peak = r.peak

const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`
const ms = (n: number) => `${n.toFixed(0)} ms`
const verdict = (met: boolean) => (met ? "met" : "MISSED")
console.log(`store:          ${store}, ${people} people, concurrency ${concurrency}`)
console.log(
  `plan (empty):   ${ms(r.planMs)} (${r.changes} changes, ${r.bad} bad rows; target ≤ 2 s: ${verdict(r.planMs <= PLAN_TARGET_MS)})`
)
console.log(
  `apply:          ${ms(r.applyMs)} (${r.report.applied} applied, ${r.report.failures.length} failed, ` +
    `${((r.report.applied / r.applyMs) * 1000).toFixed(0)} changes/s)`
)
const perChange = r.applyMs / r.report.applied
const perDirect = r.directMs / r.direct
console.log(
  `Fleet alone:    ${ms(r.directMs)} for ${r.direct} onboardPerson calls (${(perDirect * 1000).toFixed(0)} µs each; ` +
    `apply takes ${(perChange * 1000).toFixed(0)} µs a change, ${(perChange / perDirect).toFixed(2)}× the store's own cost)`
)
console.log(`plan (rerun):   ${ms(r.replanMs)} (${r.replanned} changes)`)
console.log(`floor RSS:      ${mib(floor)} (Node, Effect and the core loaded, before any work)`)
console.log(`store ready:    ${mib(r.ready)} (+${mib(r.ready - floor)} over the floor)`)
console.log(
  `peak RSS:       ${mib(peak)} (${(peak / floor).toFixed(2)}× the floor, +${mib(peak - floor)}; ` +
    `target ≤ 256 MB = ${mib(RSS_TARGET)}: ${verdict(peak <= RSS_TARGET)}, ${((peak / RSS_TARGET - 1) * 100).toFixed(0)} %)`
)
if (r.liveReady !== undefined && r.liveApplied !== undefined) {
  console.log(
    `live heap:      ${mib(r.liveReady)} with the store ready, ${mib(r.liveApplied)} after apply with the plan held ` +
      `(the rest of the peak is collectable garbage and V8's headroom)`
  )
}
