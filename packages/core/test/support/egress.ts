import * as http from "node:http"
import * as net from "node:net"
import { Effect, Layer } from "effect"
import { StoreError } from "../../src/Errors.ts"
import { EgressProxy, type EgressProxyOptions } from "../../src/proxy/EgressProxy.ts"
import { TenantGate, type TenantIdentity } from "../../src/proxy/TenantGate.ts"
import type { AuditDraft } from "../../src/store/RecordStore.ts"

/** Shared fixtures for the EgressProxy tests: a gate the test controls, loopback upstreams and raw clients. */

// --- a gate the test controls ------------------------------------------------------------------

export interface GateState {
  readonly tokens: Map<string, TenantIdentity>
  /** Grants per tenant: exact hosts, or `*.suffix` for names strictly beneath it (the gate's business). */
  readonly grants: Map<string, ReadonlyArray<string>>
  readonly audit: Array<AuditDraft>
  /** Every host the proxy asked about, to see that it asks with the canonical name. */
  readonly asked: Array<string>
  failing: boolean
}

export const ALICE = "tok-alice"
export const BASIC_ALICE = `Basic ${Buffer.from(`alice:${ALICE}`).toString("base64")}`

export const makeGate = () => {
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

export interface Upstreams {
  readonly echoPort: number
  readonly httpPort: number
  /** A port nothing listens on. */
  readonly deadPort: number
  echoConnections: number
  readonly httpSeen: Array<http.IncomingHttpHeaders>
}

export const listen = (server: net.Server) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)))

export const upstreams = Effect.acquireRelease(
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

export const NAMES: Record<string, ReadonlyArray<string>> = {
  "api.allowed.test": ["127.0.0.1"],
  "deep.sub.wild.test": ["127.0.0.1"],
  "wild.test": ["127.0.0.1"],
  "xn--bcher-kva.allowed.test": ["127.0.0.1"],
  "denied.test": ["127.0.0.1"]
}
export const lookupFrom =
  (names: Record<string, ReadonlyArray<string>>) =>
  async (host: string): Promise<ReadonlyArray<{ address: string; family: number }>> => {
    const found = names[host]
    if (found === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" })
    return found.map((address) => ({ address, family: net.isIP(address) }))
  }

export interface Env {
  readonly proxy: EgressProxy["Service"]
  readonly gate: GateState
  readonly up: Upstreams
}

/** Upstreams, a fresh gate and a proxy that may reach loopback, closed when `body` ends. */
export const withProxy = <A, E>(body: (env: Env) => Effect.Effect<A, E>, options: (up: Upstreams) => EgressProxyOptions = () => ({})) =>
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

export interface Answer {
  readonly status: number
  readonly head: string
  readonly socket: net.Socket
}

/** Sends CONNECT and reads the response head; the socket stays open for the tunnel. */
export const connect = (port: number, authority: string, authorization?: string) =>
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
export const roundTrip = (socket: net.Socket, text: string) =>
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

export const closed = (socket: net.Socket) =>
  Effect.promise(() => new Promise<boolean>((resolve) => (socket.destroyed ? resolve(true) : socket.once("close", () => resolve(true)))))

export interface Reply {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** A plain HTTP request through the proxy, in absolute form. */
export const viaProxy = (port: number, url: string, headers: Record<string, string> = {}, body?: string) =>
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

export const decisions = (gate: GateState) => gate.audit.map((a) => `${a.actor} ${a.action} ${a.target.id} ${a.decision}`)
