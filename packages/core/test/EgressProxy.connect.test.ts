import * as http from "node:http"
import type * as net from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { EgressProxy } from "../src/proxy/EgressProxy.ts"
import {
  ALICE,
  BASIC_ALICE,
  closed,
  connect,
  decisions,
  listen,
  lookupFrom,
  makeGate,
  NAMES,
  roundTrip,
  upstreams,
  withProxy
} from "./support/egress.ts"

describe("EgressProxy CONNECT", () => {
  it.effect("tunnels bytes both ways to a granted host, audited before the tunnel opens", () =>
    withProxy(({ proxy, gate, up }) =>
      Effect.gen(function* () {
        const answer = yield* connect(proxy.port, `api.allowed.test:${up.echoPort}`, `Bearer ${ALICE}`)
        assert.strictEqual(answer.status, 200)
        assert.deepStrictEqual(decisions(gate), [`tenant:alice egress.allow api.allowed.test:${up.echoPort} allowed`])
        assert.deepStrictEqual(gate.audit[0]?.target, { kind: "egress", id: `api.allowed.test:${up.echoPort}` })
        assert.strictEqual(yield* roundTrip(answer.socket, "hello through the tunnel"), "hello through the tunnel")
        assert.strictEqual(yield* roundTrip(answer.socket, "x".repeat(100_000)), "x".repeat(100_000))
        assert.isAtLeast(proxy.connections(), 1)
        answer.socket.destroy()
      })
    )
  )

  it.effect("accepts Basic credentials as clients build them from tenant:TOKEN@proxy", () =>
    withProxy(({ proxy, up }) =>
      Effect.gen(function* () {
        const answer = yield* connect(proxy.port, `api.allowed.test:${up.echoPort}`, BASIC_ALICE)
        assert.strictEqual(answer.status, 200)
        assert.strictEqual(yield* roundTrip(answer.socket, "ping"), "ping")
        answer.socket.destroy()
      })
    )
  )

  it.effect("answers 407 with a Basic challenge without credentials or with an unknown token", () =>
    withProxy(({ proxy, gate, up }) =>
      Effect.gen(function* () {
        const target = `api.allowed.test:${up.echoPort}`
        const none = yield* connect(proxy.port, target)
        const wrong = yield* connect(proxy.port, target, "Bearer not-a-token")
        const wrongBasic = yield* connect(proxy.port, target, `Basic ${Buffer.from("alice:nope").toString("base64")}`)
        for (const answer of [none, wrong, wrongBasic]) {
          assert.strictEqual(answer.status, 407)
          assert.match(answer.head, /proxy-authenticate: Basic realm="clawfleet"/i)
          answer.socket.destroy()
        }
        assert.deepStrictEqual(decisions(gate), [
          `anonymous egress.deny ${target} missing-credentials`,
          `anonymous egress.deny ${target} unknown-token`,
          `anonymous egress.deny ${target} unknown-token`
        ])
        assert.strictEqual(up.echoConnections, 0)
      })
    )
  )

  // Chosen semantics: the token is checked per connection. A revoked token cannot open another
  // tunnel, but one already open lives on until a side closes it or it idles out.
  it.effect("after revocation the next CONNECT is 407 while an open tunnel is unaffected", () =>
    withProxy(({ proxy, gate, up }) =>
      Effect.gen(function* () {
        const target = `api.allowed.test:${up.echoPort}`
        const open = yield* connect(proxy.port, target, `Bearer ${ALICE}`)
        assert.strictEqual(open.status, 200)
        gate.tokens.delete(ALICE)
        const next = yield* connect(proxy.port, target, `Bearer ${ALICE}`)
        assert.strictEqual(next.status, 407)
        assert.strictEqual(yield* roundTrip(open.socket, "still here"), "still here")
        open.socket.destroy()
        next.socket.destroy()
      })
    )
  )

  it.effect("asks the gate with the canonical host: case, trailing dot, punycode; wildcards are the gate's", () =>
    withProxy(({ proxy, gate, up }) =>
      Effect.gen(function* () {
        const ask = (host: string) => connect(proxy.port, `${host}:${up.echoPort}`, `Bearer ${ALICE}`)
        const statuses: Array<number> = []
        for (const host of ["API.Allowed.Test.", "deep.sub.WILD.test", "XN--Bcher-KVA.allowed.test", "wild.test", "denied.test"]) {
          const answer = yield* ask(host)
          statuses.push(answer.status)
          answer.socket.destroy()
        }
        assert.deepStrictEqual(statuses, [200, 200, 200, 403, 403])
        assert.deepStrictEqual(gate.asked, [
          "api.allowed.test",
          "deep.sub.wild.test",
          "xn--bcher-kva.allowed.test",
          "wild.test",
          "denied.test"
        ])
        assert.deepStrictEqual(
          gate.audit.map((a) => a.decision),
          ["allowed", "allowed", "allowed", "not-granted", "not-granted"]
        )
      })
    )
  )

  it.effect("refuses IP literals in every spelling, non-names and ports not allowed, with 403", () =>
    withProxy(({ proxy, gate, up }) =>
      Effect.gen(function* () {
        const cases: ReadonlyArray<readonly [string, number, string]> = [
          [`127.0.0.1:${up.echoPort}`, 403, "ip-literal"],
          [`[::1]:${up.echoPort}`, 403, "ip-literal"],
          [`2130706433:${up.echoPort}`, 403, "ip-literal"],
          [`0x7f.1:${up.echoPort}`, 403, "ip-literal"],
          [`localhost:${up.echoPort}`, 403, "not-a-hostname"],
          [`bad_-.allowed.test:${up.echoPort}`, 403, "not-a-hostname"],
          ["api.allowed.test:22", 403, "port-not-allowed"],
          ["api.allowed.test", 400, "bad-request"]
        ]
        for (const [authority, status, reason] of cases) {
          const answer = yield* connect(proxy.port, authority, `Bearer ${ALICE}`)
          assert.strictEqual(answer.status, status, authority)
          answer.socket.destroy()
          assert.strictEqual(gate.audit.at(-1)?.decision, reason, authority)
          assert.strictEqual(gate.audit.at(-1)?.action, "egress.deny")
        }
        assert.deepStrictEqual(gate.asked, [], "nothing refused here reaches the grant check")
        assert.strictEqual(up.echoConnections, 0)
      })
    )
  )

  it.effect("fails closed with 503 when the gate is down, and tunnels nothing", () =>
    withProxy(({ proxy, gate, up }) =>
      Effect.gen(function* () {
        gate.failing = true
        const answer = yield* connect(proxy.port, `api.allowed.test:${up.echoPort}`, `Bearer ${ALICE}`)
        assert.strictEqual(answer.status, 503)
        assert.isTrue(yield* closed(answer.socket))
        assert.strictEqual(up.echoConnections, 0)
      })
    )
  )

  it.effect("answers 502 when the upstream refuses the connection, 502 for a name that does not resolve", () =>
    withProxy(({ proxy, gate, up }) =>
      Effect.gen(function* () {
        const refused = yield* connect(proxy.port, `api.allowed.test:${up.deadPort}`, `Bearer ${ALICE}`)
        assert.strictEqual(refused.status, 502)
        assert.match(refused.head, /^HTTP\/1.1 502/)
        gate.grants.set("alice", ["nowhere.test"])
        const unknown = yield* connect(proxy.port, `nowhere.test:${up.echoPort}`, `Bearer ${ALICE}`)
        assert.strictEqual(unknown.status, 502)
        assert.deepStrictEqual(
          gate.audit.map((a) => `${a.action} ${a.decision}`),
          ["egress.allow allowed", "egress.deny unresolvable"]
        )
        refused.socket.destroy()
        unknown.socket.destroy()
      })
    )
  )

  it.effect("answers 504 when resolving takes longer than the connect timeout", () =>
    withProxy(
      ({ proxy, gate, up }) =>
        Effect.gen(function* () {
          const answer = yield* connect(proxy.port, `api.allowed.test:${up.echoPort}`, `Bearer ${ALICE}`)
          assert.strictEqual(answer.status, 504)
          assert.strictEqual(gate.audit.at(-1)?.decision, "resolve-timeout")
          answer.socket.destroy()
        }),
      () => ({ lookup: () => new Promise(() => {}), connectTimeoutMs: 50 })
    )
  )

  it.effect("closing the scope closes the server and destroys open tunnels", () =>
    Effect.gen(function* () {
      let socket: net.Socket | undefined
      yield* withProxy(({ proxy, up }) =>
        Effect.gen(function* () {
          const answer = yield* connect(proxy.port, `api.allowed.test:${up.echoPort}`, `Bearer ${ALICE}`)
          assert.strictEqual(answer.status, 200)
          socket = answer.socket
        })
      )
      assert.isTrue(yield* closed(socket!))
    })
  )
})

describe("EgressProxy.handlers", () => {
  it.effect("serve CONNECT from a node server of the embedder's own", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const { upstream: up } = yield* upstreams
        const gate = makeGate()
        const handlers = yield* EgressProxy.handlers({
          allowPrivate: ["127.0.0.1/32"],
          lookup: lookupFrom(NAMES),
          ports: [up.echoPort]
        }).pipe(Effect.provide(gate.layer))
        const server = yield* Effect.acquireRelease(
          Effect.promise(async () => {
            const srv = http.createServer(handlers.request).on("connect", handlers.connect)
            await listen(srv)
            return srv
          }),
          (srv) => Effect.promise(() => new Promise((resolve) => srv.close(resolve)))
        )
        const answer = yield* connect((server.address() as net.AddressInfo).port, `api.allowed.test:${up.echoPort}`, `Bearer ${ALICE}`)
        assert.strictEqual(answer.status, 200)
        assert.strictEqual(yield* roundTrip(answer.socket, "embedded"), "embedded")
        answer.socket.destroy()
        yield* closed(answer.socket)
      })
    )
  )
})
