/**
 * One proxy under test, in a process of its own so its CPU can be read apart: `PROXY=clawfleet`
 * runs the token proxy over a fleet in memory (or on PostgreSQL with `PG_URL`), `PROXY=bare` a
 * plain node:http pass-through with no checks, the floor any proxy pays. Sends `{ url, key }`
 * once listening and answers `"cpu"` with its CPU time so far.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Clawfleet, Fleet, Metering, Store, TenantGate, TokenProxy, VirtualKeys, withActor } from "@clawfleet/core"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Logger, Redacted } from "effect"
import { upstreamsFor } from "../test/support/tokenProxy.ts"

const upstream = new URL(process.env.UPSTREAM_URL ?? "")
const kind = process.env.PROXY ?? "clawfleet"
const pgUrl = process.env.PG_URL

const answer = (url: string, keys: ReadonlyArray<string>) => {
  process.send?.({ url, keys })
  process.on("message", (message) => {
    if (message === "cpu") {
      const cpu = process.cpuUsage()
      process.send?.({ cpuMs: (cpu.user + cpu.system) / 1000 })
    } else if (message === "exit") process.exit(0)
  })
}

const bare = () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 })
  const server = http.createServer((req, res) => {
    const out = http.request(
      { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers, agent },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers)
        reply.pipe(res)
      }
    )
    out.on("error", () => res.destroy())
    req.pipe(out)
  })
  server.listen(0, "127.0.0.1", () => answer(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, ["none"]))
}

const TENANTS = Number(process.env.TENANTS ?? 200)

/** TENANTS people with a tenant and a key each; the org may use gpt-4.1. */
const seed = Effect.gen(function* () {
  const fleet = yield* Fleet
  const keys = yield* VirtualKeys
  yield* fleet.putCatalogItem("model", { name: "gpt-4.1", upstream: "openai", inputUsdPerMTok: 2, outputUsdPerMTok: 8 })
  yield* fleet.grant({ subject: { kind: "org" }, resource: { kind: "model", name: "gpt-4.1" }, effect: "allow" })
  const out: Array<string> = []
  for (let i = 0; i < TENANTS; i++) {
    const id = `p${i}`
    yield* fleet.onboardPerson({ person: { id, email: `${id}@example.com`, displayName: id }, tenant: false })
    // Budget and rate limits high enough never to refuse, so every check still runs.
    yield* fleet.createTenant({
      name: id,
      spec: { owner: id, budget: { monthlyTokens: 1e12, requestsPerMinute: 1e9, tokensPerMinute: 1e11 } }
    })
    out.push(Redacted.value((yield* keys.issue(id)).key))
  }
  return out
}).pipe(withActor("bench"))

const clawfleet = () => {
  // The parent drops it afterwards.
  const schema = process.env.PG_SCHEMA ?? "cf_bench"
  const store =
    pgUrl === undefined
      ? Layer.mergeAll(Clawfleet.layerMemory, Metering.layerMemory)
      : Layer.mergeAll(Clawfleet.layer(Store.layerSql({ schema })), Metering.layerSql({ schema })).pipe(
          Layer.provideMerge(PgClient.layer({ url: Redacted.make(pgUrl), maxConnections: 10 }))
        )
  const layer = TokenProxy.layer({ upstreams: upstreamsFor(upstream.origin) }).pipe(
    Layer.provideMerge(TenantGate.layer),
    Layer.provideMerge(VirtualKeys.layer),
    Layer.provideMerge(store)
  )
  const program = Effect.gen(function* () {
    answer((yield* TokenProxy).url, yield* seed)
    yield* Effect.never
  })
  Effect.runFork(program.pipe(Effect.provide(layer), Effect.scoped, Effect.provide(Logger.layer([]))))
}

if (kind === "bare") bare()
else clawfleet()
