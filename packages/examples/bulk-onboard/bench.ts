// Measures plan and apply time and peak RSS of bulk onboarding over the memory store.
// sh scripts/run node --conditions=@clawfleet/source packages/examples/bulk-onboard/bench.ts [people]
import { Clawfleet } from "@clawfleet/core"
import { Effect } from "effect"
import { apply, plan } from "./bulkOnboard.ts"

const people = Number(process.argv[2] ?? 5000)
const lines = ["id,email,displayName,team,department"]
for (let i = 0; i < people; i++) lines.push(`p${i},p${i}@example.com,Person ${i},team-${i % 100},dept-${i % 20}`)
const csv = `${lines.join("\n")}\n`

let peak = process.memoryUsage.rss()
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss())
}, 5)

const time = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const start = performance.now()
    const a = yield* self
    return [a, performance.now() - start] as const
  })

const program = Effect.gen(function* () {
  const [first, planMs] = yield* time(plan(csv))
  const [report, applyMs] = yield* time(apply(first, { concurrency: 16 }))
  const [second, replanMs] = yield* time(plan(csv))
  return { first, report, second, planMs, applyMs, replanMs }
})

const { first, report, second, planMs, applyMs, replanMs } = await Effect.runPromise(Effect.provide(program, Clawfleet.layerMemory))
clearInterval(sampler)
peak = Math.max(peak, process.memoryUsage.rss(), process.resourceUsage().maxRSS * 1024)
const ms = (n: number) => `${n.toFixed(0)} ms`
console.log(`people:         ${people} (${first.changes.length} changes, ${first.bad.length} bad rows)`)
console.log(`plan (empty):   ${ms(planMs)}`)
console.log(
  `apply:          ${ms(applyMs)} (${report.applied} applied, ${report.failures.length} failed, ${((report.applied / applyMs) * 1000).toFixed(0)}/s)`
)
console.log(`plan (rerun):   ${ms(replanMs)} (${second.changes.length} changes)`)
console.log(`peak RSS:       ${(peak / 2 ** 20).toFixed(0)} MiB`)
