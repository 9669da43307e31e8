import * as net from "node:net"
import { Audit, Clawfleet, type EgressLookup, EgressProxy, Fleet, TenantGate, VirtualKeys, withActor } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { seedTenant } from "./support/tokenProxy.ts"

/**
 * The egress proxy on the fleet's own gate: virtual keys, tenants, the catalog and grants decide,
 * and every decision lands in the fleet's audit log.
 */

const names: Record<string, string> = {
  "api.allowed.test": "127.0.0.1",
  "bad.allowed.test": "127.0.0.1",
  "metadata.allowed.test": "169.254.169.254",
  "other.test": "127.0.0.1"
}
const lookup: EgressLookup = async (hostname) => {
  const address = names[hostname]
  if (address === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" })
  return [{ address, family: 4 }]
}

/** A TCP echo server standing in for a granted site. */
const echo = Effect.acquireRelease(
  Effect.promise(
    () =>
      new Promise<net.Server>((resolve) => {
        const server = net.createServer((socket) => socket.pipe(socket))
        server.listen(0, "127.0.0.1", () => resolve(server))
      })
  ),
  (server) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
)

/** Sends CONNECT and, when tunnelled, one line through; answers the status and the echo. */
const connect = (proxyPort: number, authority: string, token: string | undefined) =>
  Effect.promise(
    () =>
      new Promise<{ status: number; echoed: string | undefined }>((resolve, reject) => {
        const socket = net.connect(proxyPort, "127.0.0.1")
        let buffer = ""
        let status = 0
        socket.setEncoding("utf8")
        socket.on("error", reject)
        socket.on("data", (chunk: string) => {
          buffer += chunk
          if (status === 0) {
            const end = buffer.indexOf("\r\n\r\n")
            if (end === -1) return
            status = Number(buffer.slice(9, 12))
            buffer = buffer.slice(end + 4)
            if (status !== 200) {
              socket.destroy()
              return resolve({ status, echoed: undefined })
            }
            socket.write("ping\n")
          }
          if (buffer.includes("\n")) {
            socket.destroy()
            resolve({ status, echoed: buffer.trim() })
          }
        })
        const auth = token === undefined ? "" : `Proxy-Authorization: Basic ${Buffer.from(`ada:${token}`).toString("base64")}\r\n`
        socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`)
      })
  )

const env = TenantGate.layer.pipe(Layer.provideMerge(VirtualKeys.layer), Layer.provideMerge(Layer.fresh(Clawfleet.layerMemory)))

describe("egress through the fleet's gate", () => {
  it.effect("allows granted hosts only, blocks metadata addresses, and honours revocation and suspension", () =>
    Effect.gen(function* () {
      const server = yield* echo
      const upstreamPort = (server.address() as net.AddressInfo).port
      // The echo listens on a random port, so that is the one port this proxy lets through.
      const proxy = Context.get(
        yield* Layer.build(EgressProxy.layer({ allowPrivate: ["127.0.0.1/32"], lookup, ports: [upstreamPort] })),
        EgressProxy
      )
      const key = yield* seedTenant()
      const fleet = yield* Fleet
      yield* Effect.gen(function* () {
        yield* fleet.putCatalogItem("egress", { name: "*.allowed.test" })
        yield* fleet.grant({
          subject: { kind: "person", id: "ada" },
          resource: { kind: "egress", name: "*.allowed.test" },
          effect: "allow"
        })
        yield* fleet.grant({
          subject: { kind: "person", id: "ada" },
          resource: { kind: "egress", name: "bad.allowed.test" },
          effect: "deny"
        })
      }).pipe(withActor("admin@example.com"))
      const via = (host: string, token: string | undefined) => connect(proxy.port, `${host}:${upstreamPort}`, token)

      assert.deepStrictEqual(yield* via("api.allowed.test", key), { status: 200, echoed: "ping" })
      assert.strictEqual((yield* via("other.test", key)).status, 403, "not granted")
      assert.strictEqual((yield* via("bad.allowed.test", key)).status, 403, "a deny beneath an allowed wildcard wins")
      assert.strictEqual((yield* via("metadata.allowed.test", key)).status, 403, "granted, but resolves to a link-local address")
      assert.strictEqual((yield* via("api.allowed.test", undefined)).status, 407)

      const events = yield* (yield* Audit).list({ limit: 1000 })
      const egress = events.filter((e) => e.action.startsWith("egress."))
      assert.deepStrictEqual(
        egress.map((e) => [e.action, e.actor, e.target.id.split(":")[0], e.decision]),
        [
          ["egress.allow", "tenant:ada", "api.allowed.test", "allowed"],
          ["egress.deny", "tenant:ada", "other.test", "not-granted"],
          ["egress.deny", "tenant:ada", "bad.allowed.test", "not-granted"],
          ["egress.deny", "tenant:ada", "metadata.allowed.test", "private-address"],
          ["egress.deny", "anonymous", "api.allowed.test", "missing-credentials"]
        ]
      )

      yield* fleet.suspendTenant("ada").pipe(withActor("admin@example.com"))
      assert.strictEqual((yield* via("api.allowed.test", key)).status, 407, "a suspended tenant's key opens nothing")
      yield* fleet.resumeTenant("ada").pipe(withActor("admin@example.com"))
      assert.strictEqual((yield* via("api.allowed.test", key)).status, 200)
      yield* (yield* VirtualKeys).revokeTenant("ada").pipe(withActor("admin@example.com"))
      assert.strictEqual((yield* via("api.allowed.test", key)).status, 407, "revocation holds from the next connection")
    }).pipe(Effect.provide(env), Effect.scoped)
  )
})
