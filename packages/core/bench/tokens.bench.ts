/**
 * Tokens: verifications per second, issue and pairing-link latency, and how long a revocation
 * takes to refuse a token on another replica. In memory, and with PG_URL on PostgreSQL (two
 * replicas on separate pools, one schema).
 *
 *   npm run bench:tokens --workspace @clawfleet/core
 *   PG_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:tokens --workspace @clawfleet/core
 */
import { execFileSync } from "node:child_process"
import { ApiTokens, Clawfleet, Fleet, Sessions, SigningKeys, Store, TenantGate, Tokens, VirtualKeys, withActor } from "@clawfleet/core"
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Logger, Redacted } from "effect"
import { stats, table } from "./measure.ts"

const pgUrl = process.env.PG_URL
const schema = `cf_bench_tokens_${process.pid}`
const AUD = "clawfleet-agent:ada"

const replica = () => {
  const store =
    pgUrl === undefined
      ? Clawfleet.layerMemory
      : Clawfleet.layer(Store.layerSql({ schema })).pipe(
          Layer.provideMerge(PgClient.layer({ url: Redacted.make(pgUrl), maxConnections: 10 }))
        )
  return Layer.mergeAll(
    Tokens.layer({ issuer: "https://clawfleet.example.com" }),
    TenantGate.layer,
    Sessions.layer(),
    ApiTokens.layer
  ).pipe(Layer.provideMerge(SigningKeys.layer()), Layer.provideMerge(VirtualKeys.layer), Layer.provideMerge(store), Layer.fresh)
}

const timed = async (n: number, f: () => Promise<unknown>) => {
  const ns = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint()
    await f()
    ns[i] = Number(process.hrtime.bigint() - t0)
  }
  return stats(ns)
}

const program = Effect.gen(function* () {
  const a = yield* Layer.build(replica())
  // In memory the second replica is the first: a memory store is one process.
  const b = pgUrl === undefined ? a : yield* Layer.build(replica())
  const run = <A, E>(ctx: Context.Context<any>, e: Effect.Effect<A, E, any>) =>
    Effect.runPromise(e.pipe(Effect.provide(ctx), withActor("bench")) as Effect.Effect<A, E>)
  yield* Effect.promise(() =>
    run(
      a,
      Effect.gen(function* () {
        const fleet = yield* Fleet
        yield* fleet.onboardPerson({ person: { id: "ada", email: "ada@example.com", displayName: "Ada" }, tenant: { name: "ada" } })
      })
    )
  )
  const tokensA = Context.get(a, Tokens)
  const tokensB = Context.get(b, Tokens)
  const issue = () => run(a, tokensA.issue({ audience: AUD, subject: "ada", tenant: "ada", person: "ada" }))
  const { token } = yield* Effect.promise(issue)
  const jwt = Redacted.value(token)

  const rows: Array<Array<string>> = [["operation", "samples", "p50 µs", "p99 µs", "per second"]]
  const row = (name: string, s: ReturnType<typeof stats>, perSecond: number) =>
    rows.push([name, String(s.samples), s.p50.toFixed(0), s.p99.toFixed(0), perSecond.toFixed(0)])

  yield* Effect.promise(() => timed(500, () => run(b, tokensB.verify(jwt, { audience: AUD }))))
  const verifyStats = yield* Effect.promise(() => timed(5000, () => run(b, tokensB.verify(jwt, { audience: AUD }))))
  // Throughput with 32 verifications in flight, as a busy agent or broker would have.
  const t0 = process.hrtime.bigint()
  let done = 0
  yield* Effect.promise(() =>
    Promise.all(
      Array.from({ length: 32 }, async () => {
        while (done < 20_000) {
          done++
          await run(b, tokensB.verify(jwt, { audience: AUD }))
        }
      })
    )
  )
  const perSecond = done / (Number(process.hrtime.bigint() - t0) / 1e9)
  row("verify", verifyStats, perSecond)
  const issueStats = yield* Effect.promise(() => timed(1000, issue))
  row("issue", issueStats, 1e6 / issueStats.mean)
  const pairStats = yield* Effect.promise(() =>
    timed(500, () => run(a, tokensA.issuePairing({ person: "ada", tenant: "ada", audience: AUD })))
  )
  row("issue pairing link", pairStats, 1e6 / pairStats.mean)

  // Revocation to refusal: replica A revokes; replica B verifies in a loop and stops at the
  // first refusal. Measured from the revoke's return.
  const revocations = new Float64Array(50)
  for (let i = 0; i < revocations.length; i++) {
    const fresh = Redacted.value((yield* Effect.promise(issue)).token)
    yield* Effect.promise(() => run(a, tokensA.revokeTenant("ada")))
    const t = process.hrtime.bigint()
    for (;;) {
      const exit = yield* Effect.promise(() => run(b, Effect.exit(tokensB.verify(fresh, { audience: AUD }))))
      if (exit._tag === "Failure") break
    }
    revocations[i] = Number(process.hrtime.bigint() - t)
  }
  const rev = stats(revocations)
  rows.push(["token: revoke → refused on the other replica", String(rev.samples), rev.p50.toFixed(0), rev.p99.toFixed(0), "-"])

  // The same for the other credentials: a virtual key at the proxies' gate, a session, an API token.
  const untilRefused = (revoke: () => Promise<unknown>, check: () => Promise<boolean>) =>
    Effect.promise(async () => {
      await revoke()
      const t = process.hrtime.bigint()
      while (await check()) {}
      return Number(process.hrtime.bigint() - t)
    })
  const gateB = Context.get(b, TenantGate)
  const keysA = Context.get(a, VirtualKeys)
  const sessionsA = Context.get(a, Sessions)
  const sessionsB = Context.get(b, Sessions)
  const apiA = Context.get(a, ApiTokens)
  const apiB = Context.get(b, ApiTokens)
  const others = { "virtual key": new Float64Array(30), session: new Float64Array(30), "API token": new Float64Array(30) }
  for (let i = 0; i < 30; i++) {
    const key = yield* Effect.promise(() => run(a, keysA.issue("ada")))
    others["virtual key"][i] = yield* untilRefused(
      () => run(a, keysA.revoke(key.record.id)),
      async () => (await run(b, gateB.authenticate(Redacted.value(key.key)))) !== undefined
    )
    const session = yield* Effect.promise(() => run(a, sessionsA.create("ada")))
    others.session[i] = yield* untilRefused(
      () => run(a, sessionsA.revoke(session.token)),
      async () => (await run(b, sessionsB.verify(session.token))) !== undefined
    )
    const api = yield* Effect.promise(() => run(a, apiA.create({ person: "ada", scopes: ["tenants:read"], expiresInDays: 1 })))
    others["API token"][i] = yield* untilRefused(
      () => run(a, apiA.revoke(api.record.id)),
      async () => (await run(b, Effect.exit(apiB.verify(Redacted.value(api.token)))))._tag === "Success"
    )
  }
  const worst: Array<number> = [rev.p99]
  for (const [name, samples] of Object.entries(others)) {
    const s2 = stats(samples)
    worst.push(s2.p99)
    rows.push([`${name}: revoke → refused on the other replica`, String(s2.samples), s2.p50.toFixed(0), s2.p99.toFixed(0), "-"])
  }

  console.log(
    `tokens: EdDSA (Ed25519) JWTs; store ${pgUrl === undefined ? "in memory" : "PostgreSQL, two replicas"}; node ${process.version}\n`
  )
  console.log(table(rows))
  console.log(`\nrevocation-to-refusal, worst p99 of the four: ${(Math.max(...worst) / 1000).toFixed(2)} ms (target ≤ 1 s)`)
})

await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Logger.layer([]))))
if (pgUrl !== undefined)
  execFileSync("psql", [pgUrl, "-qc", `set client_min_messages = warning; drop schema if exists "${schema}" cascade`])
