import * as http from "node:http"
import * as net from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { StoreError } from "../src/Errors.ts"
import { EgressProxy, type EgressProxyOptions } from "../src/proxy/EgressProxy.ts"
import { TenantGate, type TenantIdentity } from "../src/proxy/TenantGate.ts"
import type { AuditDraft } from "../src/store/RecordStore.ts"

// --- a gate the test controls ------------------------------------------------------------------

interface GateState {
  readonly tokens: Map<string, TenantIdentity>
  /** Grants per tenant: exact hosts, or `*.suffix` for names strictly beneath it (the gate's business). */
  readonly grants: Map<string, ReadonlyArray<string>>
  readonly audit: Array<AuditDraft>
  /** Every host the proxy asked about, to see that it asks with the canonical name. */
  readonly asked: Array<string>
  failing: boolean
}

const ALICE = "tok-alice"
const BASIC_ALICE = `Basic ${Buffer.from(`alice:${ALICE}`).toString("base64")}`

const makeGate = () => {
  const state: GateState = {
    tokens: new Map([[ALICE, { tenant: "alice", owner: "alice@example.com" }]]),
    grants: new Map([["alice", ["api.allowed.test", "*.wild.test", "xn--bcher-kva.allowed.test"]]]),
    audit: [],
    asked: [],
    failing: false
  }
  const down = Effect.fail(StoreError.unavailable("test store is down", true))
  const granted = (patterns: ReadonlyArray<string>, host: string) =>
    patterns.some((p) => (p.startsWith("*.") ? host.endsWith(p.slice(1)) : p === host))
  const layer = Layer.succeed(
    TenantGate,
    TenantGate.of({
      authenticate: (token) => (state.failing ? down : Effect.sync(() => state.tokens.get(token))),
      allowsEgress: (identity, host) =>
        state.failing
          ? down
          : Effect.sync(() => {
              state.asked.push(host)
              return granted(state.grants.get(identity.tenant) ?? [], host)
            }),
      grantedModel: () => Effect.succeed(undefined),
      grantedModels: () => Effect.succeed([]),
      grantedTool: () => Effect.succeed(undefined),
      grantedKnowledge: () => Effect.succeed(false),
      audit: (draft) => (state.failing ? down : Effect.sync(() => void state.audit.push(draft)))
    })
  )
  return { state, layer }
}

// --- loopback upstreams ------------------------------------------------------------------------

interface Upstreams {
  readonly echoPort: number
  readonly httpPort: number
  /** A port nothing listens on. */
  readonly deadPort: number
  echoConnections: number
  readonly httpSeen: Array<http.IncomingHttpHeaders>
}

const listen = (server: net.Server) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)))

const upstreams = Effect.acquireRelease(
  Effect.promise(async () => {
    const state = { echoConnections: 0, httpSeen: [] as Array<http.IncomingHttpHeaders> }
    const echo = net.createServer((socket) => {
      state.echoConnections++
      socket.on("error", () => {})
      socket.pipe(socket)
    })
    const web = http.createServer((req, res) => {
      state.httpSeen.push(req.headers)
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/plain", "x-upstream": "yes", connection: "close, x-hop", "x-hop": "1" })
        res.end(`${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`)
      })
    })
    const spare = net.createServer()
    const deadPort = await listen(spare)
    await new Promise<void>((resolve) => spare.close(() => resolve()))
    const servers = { echo, web }
    const ports = { echoPort: await listen(echo), httpPort: await listen(web), deadPort }
    return { servers, upstream: Object.assign(state, ports) satisfies Upstreams }
  }),
  ({ servers }) =>
    Effect.promise(async () => {
      servers.web.closeAllConnections()
      await Promise.all([new Promise((r) => servers.echo.close(r)), new Promise((r) => servers.web.close(r))])
    })
)

const NAMES: Record<string, ReadonlyArray<string>> = {
  "api.allowed.test": ["127.0.0.1"],
  "deep.sub.wild.test": ["127.0.0.1"],
  "wild.test": ["127.0.0.1"],
  "xn--bcher-kva.allowed.test": ["127.0.0.1"],
  "denied.test": ["127.0.0.1"]
}
const lookupFrom =
  (names: Record<string, ReadonlyArray<string>>) =>
  async (host: string): Promise<ReadonlyArray<{ address: string; family: number }>> => {
    const found = names[host]
    if (found === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" })
    return found.map((address) => ({ address, family: net.isIP(address) }))
  }

interface Env {
  readonly proxy: EgressProxy["Service"]
  readonly gate: GateState
  readonly up: Upstreams
}

/** Upstreams, a fresh gate and a proxy that may reach loopback, closed when `body` ends. */
const withProxy = <A, E>(body: (env: Env) => Effect.Effect<A, E>, options: (up: Upstreams) => EgressProxyOptions = () => ({})) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { upstream: up } = yield* upstreams
      const gate = makeGate()
      const proxyLayer = EgressProxy.layer({
        allowPrivate: ["127.0.0.1/32"],
        lookup: lookupFrom(NAMES),
        ports: [up.echoPort, up.httpPort, up.deadPort, 443, 80],
        ...options(up)
      }).pipe(Layer.provide(gate.layer))
      return yield* Effect.gen(function* () {
        return yield* body({ proxy: yield* EgressProxy, gate: gate.state, up })
      }).pipe(Effect.provide(proxyLayer))
    })
  )

// --- clients -----------------------------------------------------------------------------------

interface Answer {
  readonly status: number
  readonly head: string
  readonly socket: net.Socket
}

/** Sends CONNECT and reads the response head; the socket stays open for the tunnel. */
const connect = (port: number, authority: string, authorization?: string) =>
  Effect.promise(
    () =>
      new Promise<Answer>((resolve, reject) => {
        const socket = net.connect(port, "127.0.0.1")
        let buffered = Buffer.alloc(0)
        const onData = (chunk: Buffer) => {
          buffered = Buffer.concat([buffered, chunk])
          const end = buffered.indexOf("\r\n\r\n")
          if (end === -1) return
          socket.off("data", onData)
          const head = buffered.subarray(0, end).toString()
          resolve({ status: Number(head.split(" ")[1]), head, socket })
        }
        socket.on("data", onData)
        socket.on("error", reject)
        socket.on("close", () => reject(new Error("closed before a response")))
        const auth = authorization === undefined ? "" : `Proxy-Authorization: ${authorization}\r\n`
        socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`)
      })
  )

/** Writes `text` into an open tunnel and waits for the echo. */
const roundTrip = (socket: net.Socket, text: string) =>
  Effect.promise(
    () =>
      new Promise<string>((resolve) => {
        let got = ""
        const onData = (chunk: Buffer) => {
          got += chunk.toString()
          if (got.length >= text.length) {
            socket.off("data", onData)
            resolve(got)
          }
        }
        socket.on("data", onData)
        socket.write(text)
      })
  )

const closed = (socket: net.Socket) =>
  Effect.promise(() => new Promise<boolean>((resolve) => (socket.destroyed ? resolve(true) : socket.once("close", () => resolve(true)))))

interface Reply {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** A plain HTTP request through the proxy, in absolute form. */
const viaProxy = (port: number, url: string, headers: Record<string, string> = {}, body?: string) =>
  Effect.promise(
    () =>
      new Promise<Reply>((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, method: body === undefined ? "GET" : "POST", path: url, headers, agent: false })
        req.on("response", (res) => {
          const chunks: Array<Buffer> = []
          res.on("data", (c: Buffer) => chunks.push(c))
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }))
        })
        req.on("error", reject)
        req.end(body)
      })
  )

const decisions = (gate: GateState) => gate.audit.map((a) => `${a.actor} ${a.action} ${a.target.id} ${a.decision}`)

// --- tests -------------------------------------------------------------------------------------

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

describe("EgressProxy without allowPrivate", () => {
  const hostile: Record<string, ReadonlyArray<string>> = {
    "loop.allowed.test": ["127.0.0.1"],
    "metadata.allowed.test": ["169.254.169.254"],
    "v6loop.allowed.test": ["::1"],
    "ten.allowed.test": ["10.1.2.3"],
    "mapped.allowed.test": ["::ffff:127.0.0.1"],
    "mixed.allowed.test": ["93.184.216.34", "10.0.0.1"],
    "nat64.allowed.test": ["64:ff9b::a9fe:a9fe"],
    "ula.allowed.test": ["fd12:3456::1"]
  }

  it.effect("refuses with 403 any name with a private, loopback, link-local or mapped address among its answers", () =>
    withProxy(
      ({ proxy, gate, up }) =>
        Effect.gen(function* () {
          gate.grants.set("alice", ["*.allowed.test"])
          for (const host of Object.keys(hostile)) {
            const answer = yield* connect(proxy.port, `${host}:443`, `Bearer ${ALICE}`)
            assert.strictEqual(answer.status, 403, host)
            answer.socket.destroy()
            const last = gate.audit.at(-1)
            assert.strictEqual(last?.decision, "private-address", host)
            assert.deepStrictEqual(last?.after, { addresses: hostile[host] }, host)
          }
          assert.strictEqual(up.echoConnections, 0)
        }),
      () => ({ allowPrivate: [], lookup: lookupFrom(hostile) })
    )
  )
})

describe("EgressProxy plain HTTP", () => {
  it.effect("forwards absolute-form requests, streaming the body, without proxy credentials or hop-by-hop headers", () =>
    withProxy(({ proxy, gate, up }) =>
      Effect.gen(function* () {
        const reply = yield* viaProxy(
          proxy.port,
          `http://API.allowed.test:${up.httpPort}/path?q=1`,
          {
            "proxy-authorization": BASIC_ALICE,
            "x-keep": "1",
            connection: "x-secret",
            "x-secret": "drop me",
            "proxy-connection": "keep-alive",
            upgrade: "h2c"
          },
          "the body"
        )
        assert.strictEqual(reply.status, 200)
        assert.strictEqual(reply.body, "POST /path?q=1 the body")
        assert.strictEqual(reply.headers["x-upstream"], "yes")
        assert.isUndefined(reply.headers["x-hop"], "a header the upstream's Connection names is not passed back")
        const seen = up.httpSeen.at(-1)!
        assert.strictEqual(seen.host, `api.allowed.test:${up.httpPort}`)
        assert.strictEqual(seen["x-keep"], "1")
        for (const name of ["proxy-authorization", "x-secret", "proxy-connection", "upgrade"]) assert.isUndefined(seen[name], name)
        assert.deepStrictEqual(decisions(gate), [`tenant:alice egress.allow api.allowed.test:${up.httpPort} allowed`])
      })
    )
  )

  it.effect("refuses each request on its own: 407, 403 for a host not granted or an IP literal, 400 for origin form", () =>
    withProxy(({ proxy, gate, up }) =>
      Effect.gen(function* () {
        const auth = { "proxy-authorization": `Bearer ${ALICE}` }
        const none = yield* viaProxy(proxy.port, `http://api.allowed.test:${up.httpPort}/`)
        assert.strictEqual(none.status, 407)
        assert.strictEqual(none.headers["proxy-authenticate"], 'Basic realm="clawfleet"')
        assert.strictEqual((yield* viaProxy(proxy.port, `http://denied.test:${up.httpPort}/`, auth)).status, 403)
        assert.strictEqual((yield* viaProxy(proxy.port, `http://127.0.0.1:${up.httpPort}/`, auth)).status, 403)
        assert.strictEqual((yield* viaProxy(proxy.port, "/just-a-path", auth)).status, 400)
        assert.strictEqual((yield* viaProxy(proxy.port, `http://api.allowed.test:${up.deadPort}/`, auth)).status, 502)
        assert.deepStrictEqual(
          gate.audit.map((a) => a.decision),
          ["missing-credentials", "not-granted", "ip-literal", "bad-request", "allowed"]
        )
        assert.strictEqual(up.httpSeen.length, 0)
      })
    )
  )
})
