/**
 * Grant-check latency: AccessIndex against cedar-wasm on the same org, grants and questions.
 *
 *   cd packages/core && npm run bench      (or `npm run bench` at the root)
 *
 * Method. One `index.check` takes a fraction of a microsecond, close to what a pair of
 * `process.hrtime.bigint()` reads costs (~30 ns here). We still time every call on its own and
 * subtract the timer's median cost, because batching (N different calls, batch/N) averages the
 * slow calls into their neighbours and so hides exactly the tail p99/p99.9 are meant to show,
 * while repeating one query N times measures a cache-hot best case. The timer's own jitter stays
 * in the samples, so the tails err on the slow side. As a cross-check of the mean we also run the
 * sample in a tight loop with no timer inside and divide. Warm-up uses different queries from
 * the measured ones, so the sample's exact data is not pre-touched in cache: with people drawn
 * at random, most of a check's cost is cache misses, which the "same person 16x" row shows.
 *
 * Cedar is timed the same way (its calls are 1000x longer, so the timer does not matter), on
 * fewer requests, and every timed answer is compared with ours: any difference exits 1.
 * BENCH_CEDAR_FULL / BENCH_CEDAR_SLICED change how many Cedar requests are made.
 */
import type { EntityJson } from "@cedar-policy/cedar-wasm/nodejs"
import type { Team } from "../src/domain/Directory.ts"
import { AccessIndex } from "../src/grants/AccessIndex.ts"
import { cedar, decide, entitiesFor, preparse, request, sliceByDepartment, toCedarPolicies } from "./cedar.ts"
import { makeFixture, makeQueries, NOW_MS, type Queries, SIZES } from "./fixture.ts"
import { gc, mb, ms, type Stats, statRow, stats, table, timerOverheadNs } from "./measure.ts"

const SAMPLES = 200_000
// Cedar takes ~0.2 s per request against all 50,001 policies, hence the small default there.
const CEDAR_FULL = Number(process.env.BENCH_CEDAR_FULL ?? 1_000)
const CEDAR_SLICED = Number(process.env.BENCH_CEDAR_SLICED ?? 5_000)
const TARGET_P99_US = 5
const TARGET_RATIO = 10
const { hrtime } = process
const fmt = (n: number) => n.toLocaleString("en-US")

console.log("grant-check benchmark: AccessIndex vs @cedar-policy/cedar-wasm", cedar.getCedarVersion())
console.log("command: cd packages/core && node --expose-gc --conditions=@clawfleet/source bench/grants.bench.ts")
console.log(`node ${process.version}, ${process.platform}/${process.arch}, gc exposed: ${"gc" in globalThis}`)

// --- org and grants --------------------------------------------------------------------------
gc()
const heap0 = process.memoryUsage().heapUsed
const fx = makeFixture(0xc1a3)
gc()
const heap1 = process.memoryUsage().heapUsed

let t = hrtime.bigint()
const index = AccessIndex.build(fx)
const buildColdMs = ms(t)
gc()
const heapIndex = process.memoryUsage().heapUsed - heap1
// A first build runs mostly unoptimised code; the warm figure is what a rebuild on revision costs.
const warm: Array<number> = []
for (let i = 0; i < 5; i++) {
  t = hrtime.bigint()
  AccessIndex.build(fx)
  warm.push(ms(t))
}
const buildWarmMs = warm.sort((a, b) => a - b)[2]!
if (index.size.grants !== SIZES.grants) throw new Error(`index holds ${index.size.grants} grants`)

// --- AccessIndex latency ---------------------------------------------------------------------
const q = makeQueries(fx, SAMPLES, 2)
const w = makeQueries(fx, SAMPLES, 3)
let sink = 0
for (let pass = 0; pass < 5; pass++) {
  for (let i = 0; i < SAMPLES; i++) if (index.check(w.person[i]!, w.kind[i]!, w.name[i]!, NOW_MS).allowed) sink++
}
const overhead = timerOverheadNs()
const timeOurs = (qs: Queries): Float64Array => {
  const ns = new Float64Array(SAMPLES)
  for (let i = 0; i < SAMPLES; i++) {
    const person = qs.person[i]!
    const kind = qs.kind[i]!
    const name = qs.name[i]!
    const t0 = hrtime.bigint()
    const d = index.check(person, kind, name, NOW_MS)
    const t1 = hrtime.bigint()
    ns[i] = Math.max(0, Number(t1 - t0) - overhead)
    if (d.allowed) sink++
  }
  return ns
}
const oursNs = timeOurs(q)
// Not used for the targets: shows how much of a random check is cache misses on a cold person.
const bursts = stats(timeOurs(makeQueries(fx, SAMPLES, 4, 16)))
const PASSES = 10
t = hrtime.bigint()
for (let pass = 0; pass < PASSES; pass++) {
  for (let i = 0; i < SAMPLES; i++) if (index.check(q.person[i]!, q.kind[i]!, q.name[i]!, NOW_MS).allowed) sink++
}
const tightMeanUs = (ms(t) * 1000) / (PASSES * SAMPLES)
const ours = stats(oursNs)
const byKind = (egress: boolean): Stats => stats(oursNs.filter((_, i) => (q.kind[i] === "egress") === egress))

// --- Cedar: same grants as policies, same questions ------------------------------------------
const teams = new Map<string, Team>(fx.teams.map((x) => [x.id, x]))
t = hrtime.bigint()
const policyText = toCedarPolicies(fx.grants)
const translateMs = ms(t)
gc()
const rss0 = process.memoryUsage().rss
t = hrtime.bigint()
preparse("all", policyText)
const preparseMs = ms(t)
const cedarRss = process.memoryUsage().rss - rss0
const { personSlice, slices } = sliceByDepartment(fx, teams)
t = hrtime.bigint()
for (const [id, grants] of slices) preparse(id, toCedarPolicies(grants))
const slicedPreparseMs = ms(t)
const sliceSizes = [...slices.values()].map((s) => s.length + 1)

// Built ahead, outside the timing: Cedar's best case is a caller that already has them.
const entities = new Map<string, Array<EntityJson>>(fx.people.map((p) => [p.id, entitiesFor(p, teams)]))
const cedarCall = (set: (person: string) => string, qs: Queries, i: number) =>
  request(set(qs.person[i]!), qs.person[i]!, qs.kind[i]!, qs.name[i]!, NOW_MS, entities.get(qs.person[i]!)!)

let agree = 0
let checked = 0
const reasons = new Map<string, number>()
const disagreements: Array<string> = []
const compare = (i: number, cedarAllows: boolean) => {
  const d = index.check(q.person[i]!, q.kind[i]!, q.name[i]!, NOW_MS)
  checked++
  reasons.set(d.reason, (reasons.get(d.reason) ?? 0) + 1)
  if (d.allowed === cedarAllows) agree++
  else if (disagreements.length < 10) {
    disagreements.push(`${q.person[i]} ${q.kind[i]}:${q.name[i]} ours=${d.reason} cedar=${cedarAllows ? "allow" : "deny"}`)
  }
}
/** Every timed Cedar answer is also checked against ours, so the timed sample is the verified one. */
const timeCedar = (set: (person: string) => string, from: number, count: number, warmup: number): Stats => {
  for (let i = 0; i < warmup; i++) decide(cedarCall(set, w, i))
  const ns = new Float64Array(count)
  for (let j = 0; j < count; j++) {
    const call = cedarCall(set, q, from + j)
    const t0 = hrtime.bigint()
    const allowed = decide(call)
    const t1 = hrtime.bigint()
    ns[j] = Math.max(0, Number(t1 - t0) - overhead)
    compare(from + j, allowed)
  }
  return stats(ns)
}
console.log(`timing Cedar on ${fmt(CEDAR_FULL)} + ${fmt(CEDAR_SLICED)} requests (a few minutes)...`)
const cedarFull = timeCedar(() => "all", 0, CEDAR_FULL, 20)
const cedarSliced = timeCedar((p) => personSlice.get(p)!, CEDAR_FULL, CEDAR_SLICED, 200)

// --- report ----------------------------------------------------------------------------------
const disabled = fx.people.filter((p) => p.disabled).length
console.log(
  `\norg: ${fmt(fx.people.length)} people (${disabled} disabled), ${fmt(fx.teams.length)} teams, ` +
    `${fmt(fx.departments.length)} departments, ${fmt(fx.grants.length)} grants, ${SIZES.namesPerKind} names per kind`
)
console.log(
  table([
    ["setup", "time", "memory"],
    ["fixture objects (people, teams, grants)", "", `heap ${mb(heap1 - heap0)}`],
    ["AccessIndex.build, first", `${buildColdMs.toFixed(1)} ms`, `heap +${mb(heapIndex)}`],
    ["AccessIndex.build, warm (median of 5)", `${buildWarmMs.toFixed(1)} ms`, ""],
    ["grants -> Cedar policy text", `${translateMs.toFixed(0)} ms`, `${mb(policyText.length)} text`],
    [`cedar preparse, one set of ${fmt(fx.grants.length + 1)}`, `${preparseMs.toFixed(0)} ms`, `rss +${mb(cedarRss)}`],
    [
      `cedar preparse, ${slices.size} slices of ${Math.min(...sliceSizes)}-${Math.max(...sliceSizes)}`,
      `${slicedPreparseMs.toFixed(0)} ms`,
      ""
    ]
  ])
)
const ratio = (a: number, b: number) => (b > 0 ? a / b : Number.POSITIVE_INFINITY)
const x = (a: number, b: number) => `${fmt(Math.round(ratio(a, b)))}x`
console.log(`\nper decision, µs (timer overhead ${overhead} ns subtracted per call; p99.9 needs >= 10,000 samples)`)
console.log(
  table([
    ["engine", "samples", "p50", "p99", "p99.9", "mean"],
    statRow("AccessIndex.check", ours),
    statRow("  non-egress kinds", byKind(false)),
    statRow("  egress", byKind(true)),
    ["  tight loop, no timer", fmt(PASSES * SAMPLES), "", "", "", tightMeanUs.toFixed(3)],
    statRow("  same person 16x in a row", bursts),
    statRow("cedar, one policy set", cedarFull),
    statRow("cedar, sliced by department", cedarSliced),
    ["ratio cedar (one set) / ours", "", x(cedarFull.p50, ours.p50), x(cedarFull.p99, ours.p99), "", ""],
    ["ratio cedar (sliced) / ours", "", x(cedarSliced.p50, ours.p50), x(cedarSliced.p99, ours.p99), "", ""]
  ])
)
const mix = [...reasons].map(([k, v]) => `${k} ${fmt(v)}`).join(", ")
console.log(`\nagreement with Cedar: ${fmt(agree)}/${fmt(checked)} decisions identical (ours: ${mix})`)
const p99Met = ours.p99 <= TARGET_P99_US
// Judged against the faster Cedar setup, so slicing cannot make the claim true by accident.
const worst = Math.min(ratio(cedarSliced.p50, ours.p50), ratio(cedarSliced.p99, ours.p99))
console.log(`target p99 <= ${TARGET_P99_US} µs: ${p99Met ? "MET" : "MISSED"} (${ours.p99.toFixed(3)} µs)`)
console.log(
  `target >= ${TARGET_RATIO}x faster than cedar-wasm at p50 and p99: ${worst >= TARGET_RATIO ? "MET" : "MISSED"} ` +
    `(at least ${x(worst, 1)}, against the sliced setup)`
)
if (sink < 0) console.log(sink) // keeps every timed result observable
if (agree !== checked) {
  console.error(`\nFAIL: ${checked - agree} decisions differ from Cedar, for example:\n  ${disagreements.join("\n  ")}`)
  process.exit(1)
}
