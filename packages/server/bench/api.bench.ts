/**
 * The REST API against the least a server could do for the same answers, on PostgreSQL with
 * 10,000 tenants and an org-admin API token:
 *
 *   npm run bench --workspace @clawfleet/server
 *   (CLAWFLEET_BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/test; SECONDS, ROUNDS)
 *
 * "API" is `makeApiHttp` (effect/http-api: routing, schema validation, the security middleware,
 * roles, problem mapping, schema encoding). "Minimal" is a bare node:http handler doing the same
 * work through the same services: verify the API token, read the caller's person, run the same
 * query, encode with the same schema. Both run in this process, one loaded at a time, alternating;
 * the load comes from another process (`bench/load.ts`), so this process's CPU is the server's.
 */
import { spawn } from "node:child_process"
import * as http from "node:http"
import { fileURLToPath } from "node:url"
import {
  ApiTokens,
  Clawfleet,
  Directory,
  Fleet,
  listen,
  type Person,
  RecordStore,
  Sessions,
  Store,
  Tenant,
  Tenants,
  withActor
} from "@clawfleet/core"
import { Context, Effect, Exit, Layer, Redacted, Schema } from "effect"
import { makeApiHttp } from "../src/api/ApiHttp.ts"

const url = process.env.CLAWFLEET_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const SECONDS = Number(process.env.SECONDS ?? 5)
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32)
const TENANTS = 10_000
const schema = `bench_api_${process.pid}`
const name = (i: number) => `t${String(i).padStart(5, "0")}`

const store = Store.layerPg({ url, schema, maxConnections: 20 })
const services = Layer.mergeAll(ApiTokens.layer, Sessions.layer()).pipe(Layer.provideMerge(Clawfleet.layer(store)))

const seed = Effect.gen(function* () {
  const fleet = yield* Fleet
  const directory = yield* Directory
  if ((yield* directory.people.find("admin")) === undefined) {
    yield* fleet.onboardPerson({ person: { id: "admin", email: "admin@example.com", displayName: "Admin" }, tenant: false })
  }
  yield* Effect.forEach(
    Array.from({ length: 100 }, (_, i) => `p${String(i).padStart(3, "0")}`),
    (id) => fleet.onboardPerson({ person: { id, email: `${id}@example.com`, displayName: id }, tenant: false }),
    { concurrency: 16, discard: true }
  )
  yield* Effect.forEach(
    Array.from({ length: TENANTS }, (_, i) => i),
    (i) => fleet.createTenant({ name: name(i), spec: { owner: `p${String(i % 100).padStart(3, "0")}` } }),
    { concurrency: 16, discard: true }
  )
  return (yield* (yield* ApiTokens).create({ person: "admin", scopes: ["tenants:read"], expiresInDays: 1 })).token
}).pipe(withActor("bench"))

/** The same work without the framework: token, person, query, encode. */
const minimal = Effect.gen(function* () {
  const context = yield* Effect.context<ApiTokens | Directory | Tenants | RecordStore>()
  const run = Effect.runPromiseExitWith(context)
  const tokens = Context.get(context, ApiTokens)
  const directory = Context.get(context, Directory)
  const tenants = Context.get(context, Tenants)
  const store = Context.get(context, RecordStore)
  const encode = Schema.encodeSync(Tenant)
  const decode = Schema.decodeUnknownSync(Tenant)
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" })
    res.end(JSON.stringify(body))
  }
  const caller = (req: http.IncomingMessage) =>
    Effect.gen(function* () {
      const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1] ?? ""
      const verified = yield* tokens.verify(token)
      return (yield* directory.people.find(verified.person))?.value as Person | undefined
    })
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    const u = new URL(req.url ?? "/", "http://x")
    const one = /^\/api\/v1\/tenants\/([a-z0-9-]+)$/.exec(u.pathname)
    const work = Effect.gen(function* () {
      if ((yield* caller(req)) === undefined) return [401, { error: "unauthenticated" }] as const
      if (one !== null) return [200, encode((yield* tenants.get(one[1]!)).value)] as const
      // As the API pages: one more row than asked, to know whether a next page exists.
      const limit = Number(u.searchParams.get("limit") ?? 100)
      const rows = yield* store.list("tenants", { after: u.searchParams.get("after") ?? undefined, limit: limit + 1 })
      const items = rows.slice(0, limit).map((row) => encode(decode(row.data)))
      return [200, { items, ...(rows.length > limit ? { next: rows[limit - 1]!.id } : {}) }] as const
    })
    void run(work).then((exit) => (Exit.isSuccess(exit) ? send(res, exit.value[0], exit.value[1]) : send(res, 500, { error: "failed" })))
  }
})

const load = (template: string, token: string) =>
  new Promise<{ requests: number; failures: number; p50: number; p99: number }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL("./load.ts", import.meta.url)), template, token, String(CONCURRENCY), String(SECONDS), "9900"],
      {
        stdio: ["ignore", "pipe", "inherit"]
      }
    )
    let out = ""
    child.stdout.on("data", (d) => (out += d))
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited ${code}`))))
  })

const measure = async (template: string, token: string) => {
  const cpu0 = process.cpuUsage()
  const result = await load(template, token)
  const cpu = process.cpuUsage(cpu0)
  return { ...result, rps: result.requests / SECONDS, cpuUsPerRequest: (cpu.user + cpu.system) / Math.max(1, result.requests) }
}

const main = Effect.gen(function* () {
  const token = Redacted.value(yield* seed)
  const api = yield* makeApiHttp({ roles: { orgAdmins: { people: ["admin"] } } })
  const apiServer = yield* listen(
    http.createServer((req, res) => {
      if (!api(req, res)) res.writeHead(404).end()
    }),
    {}
  )
  const minimalServer = yield* listen(http.createServer(yield* minimal), {})
  const scenarios = [
    ["GET /api/v1/tenants/{name}", "/api/v1/tenants/t{i}"],
    ["GET /api/v1/tenants?limit=100&after=…", "/api/v1/tenants?limit=100&after=t{i}"]
  ] as const
  const rows: Array<string> = []
  for (const [label, path] of scenarios) {
    const figures = { api: [] as Array<Awaited<ReturnType<typeof measure>>>, minimal: [] as Array<Awaited<ReturnType<typeof measure>>> }
    // Warm both, then alternate.
    yield* Effect.promise(() => measure(`${apiServer.origin}${path}`, token))
    yield* Effect.promise(() => measure(`${minimalServer.origin}${path}`, token))
    for (let round = 0; round < ROUNDS; round++) {
      figures.api.push(yield* Effect.promise(() => measure(`${apiServer.origin}${path}`, token)))
      figures.minimal.push(yield* Effect.promise(() => measure(`${minimalServer.origin}${path}`, token)))
    }
    const med = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    for (const side of ["api", "minimal"] as const) {
      const f = figures[side]
      rows.push(
        `${label.padEnd(40)} ${side.padEnd(8)} ${med(f.map((x) => x.rps))
          .toFixed(0)
          .padStart(6)} req/s  p99 ${med(f.map((x) => x.p99))
          .toFixed(1)
          .padStart(6)} ms  CPU ${med(f.map((x) => x.cpuUsPerRequest))
          .toFixed(0)
          .padStart(5)} µs/req  failures ${f.reduce((n, x) => n + x.failures, 0)}`
      )
    }
    const failed = [...figures.api, ...figures.minimal].reduce((n, x) => n + x.failures, 0)
    // Refusals are cheap: a run with any is measuring the wrong thing.
    if (failed > 0) rows.push(`${label.padEnd(40)} INVALID: ${failed} answers were not 2xx`)
    const ratio = med(figures.api.map((x) => x.rps)) / med(figures.minimal.map((x) => x.rps))
    rows.push(`${label.padEnd(40)} throughput API / minimal: ${ratio.toFixed(2)} (target ≥ 0.70)`)
  }
  console.log(
    `REST API vs a minimal node:http handler, PostgreSQL, ${TENANTS} tenants, ${CONCURRENCY} connections, ${ROUNDS}×${SECONDS} s each, alternating; node ${process.version}\n`
  )
  console.log(rows.join("\n"))
  // The schema is the bench's own: leave nothing behind.
  yield* Effect.promise(
    () =>
      new Promise((resolve) =>
        spawn("psql", [url, "-qc", `drop schema if exists ${schema} cascade`], { stdio: "ignore" }).on("close", resolve)
      )
  )
})

await Effect.runPromise(main.pipe(Effect.scoped, Effect.provide(services)))
