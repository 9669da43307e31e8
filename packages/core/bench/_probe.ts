import { AccessIndex } from "../src/grants/AccessIndex.ts"
import { makeFixture, makeQueries, NOW_MS } from "./fixture.ts"
const fx = makeFixture(0xc1a3)
const index = AccessIndex.build(fx)
const q = makeQueries(fx, 200_000, 2)
let sink = 0
for (let pass = 0; pass < 10; pass++) {
  const t0 = performance.now()
  for (let i = 0; i < 200_000; i++) if (index.check(q.person[i]!, q.kind[i]!, q.name[i]!, NOW_MS).allowed) sink++
  console.log("pass", pass, ((performance.now() - t0) * 1000 / 200_000).toFixed(3), "µs/check")
}
// same query repeated
const t0 = performance.now()
for (let i = 0; i < 1_000_000; i++) if (index.check(q.person[5]!, "skill", "skill-001", NOW_MS).allowed) sink++
console.log("repeat one", ((performance.now() - t0) * 1000 / 1e6).toFixed(3))
console.log(sink)
