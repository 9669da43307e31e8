import * as dns from "node:dns/promises"
import * as http from "node:http"
import type { Socket } from "node:net"
import type { Duplex } from "node:stream"
import { Context, Effect, Layer } from "effect"
import { listen } from "../internal/listen.ts"
import { makeAddressFilter } from "./egress/addressRules.ts"
import { type EgressLookup, type HandlerDeps, makeDecide, type Verdict } from "./egress/decide.ts"
import { makeForwardHandler } from "./egress/forward.ts"
import { makeConnectHandler } from "./egress/tunnel.ts"
import { TenantGate } from "./TenantGate.ts"

export { type AddressFilter, makeAddressFilter } from "./egress/addressRules.ts"
export type { DenyReason, EgressLookup, ResolvedAddress } from "./egress/decide.ts"
export { canonicalHost } from "./egress/hostRules.ts"

export interface EgressProxyOptions {
  /** Default 127.0.0.1. */
  readonly host?: string | undefined
  /** Default 0: any free port. */
  readonly port?: number | undefined
  /** Destination ports a tenant may reach. Default [443, 80]. */
  readonly ports?: ReadonlyArray<number> | undefined
  /**
   * CIDRs exempt from the private-address block, for an internal range the operator opens on
   * purpose (`10.20.0.0/16`, `fd00:1::/64`). Default none. Grants still apply to the names.
   */
  readonly allowPrivate?: ReadonlyArray<string> | undefined
  /** The resolver, shaped like `dns.promises.lookup` with `{ all: true }`. Default the system's. */
  readonly lookup?: EgressLookup | undefined
  /** Limit for resolving a name, and separately for connecting upstream; past it 504. Default 10 s. */
  readonly connectTimeoutMs?: number | undefined
  /** A tunnel or forwarded exchange with no bytes either way for this long is closed. Default 5 minutes. */
  readonly idleTimeoutMs?: number | undefined
  /** Largest request head accepted, in bytes; larger ones get 431. Default 16 KiB. */
  readonly maxHeaderSize?: number | undefined
  /** Time a client has to send its request head. Default 10 s. */
  readonly headersTimeoutMs?: number | undefined
}

/** The proxy's listeners, to mount on a node:http server of your own as its `request` and `connect` listeners. */
export interface EgressHandlers {
  /** Absolute-form plain HTTP requests; an origin-form request (`GET /`) is answered 400. */
  readonly request: (req: http.IncomingMessage, res: http.ServerResponse) => void
  /**
   * `CONNECT` tunnels. Add no `upgrade` listener: without one node hands `Upgrade:` requests to
   * `request`, which forwards them with the hop-by-hop `Upgrade` removed, as a plain request.
   */
  readonly connect: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void
}

const positive = (name: string, value: number | undefined, fallback: number) => {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`EgressProxy: ${name} must be a positive integer, got ${value}`)
  return v
}

const portsOf = (ports: ReadonlyArray<number>): ReadonlySet<number> => {
  for (const p of ports) if (!Number.isInteger(p) || p < 1 || p > 65_535) throw new Error(`EgressProxy: ${p} is not a port`)
  return new Set(ports)
}

const systemLookup: EgressLookup = (hostname, options) => dns.lookup(hostname, options)

const UNAVAILABLE: Verdict = { allow: false, status: 503, reason: "gate-unavailable" }

/**
 * Builds the listeners on the gate in context. The gate's effects run, inside node callbacks, on
 * the services captured here, so the proxy sees the same logger and store as the layer that built it.
 */
export const makeEgressHandlers = (options: EgressProxyOptions = {}): Effect.Effect<EgressHandlers, never, TenantGate> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<TenantGate>()
    const run = Effect.runPromiseWith(context)
    const timeoutMs = positive("connectTimeoutMs", options.connectTimeoutMs, 10_000)
    const decide = makeDecide({
      gate: Context.get(context, TenantGate),
      ports: portsOf(options.ports ?? [443, 80]),
      lookup: options.lookup ?? systemLookup,
      addressAllowed: makeAddressFilter(options.allowPrivate),
      resolveTimeoutMs: timeoutMs
    })
    const deps: HandlerDeps = {
      decide: (authorization, target) => run(decide(authorization, target)).catch(() => UNAVAILABLE),
      connectTimeoutMs: timeoutMs,
      idleTimeoutMs: positive("idleTimeoutMs", options.idleTimeoutMs, 300_000)
    }
    return {
      request: makeForwardHandler(deps),
      connect: makeConnectHandler(deps)
    }
  })

/**
 * The forward proxy all of a tenant's outbound traffic goes through: `CONNECT host:port` tunnels
 * and plain HTTP in absolute form, each authenticated with the tenant's token (`Proxy-Authorization`
 * Basic or Bearer), allowed only to hosts its grants name, on allowed ports, and only when every
 * address the name resolves to is public. Every decision is audited; a gate that cannot answer
 * means 503, never a tunnel.
 */
export class EgressProxy extends Context.Service<
  EgressProxy,
  {
    /** `http://host:port`, for `HTTPS_PROXY` / undici's `ProxyAgent` (with `tenant:TOKEN@` in it). */
    readonly url: string
    readonly port: number
    /** Client connections open right now: tunnels, requests in flight and idle kept-alive ones. */
    readonly connections: () => number
  }
>()("@clawfleet/core/EgressProxy") {
  /** The listeners alone, to mount on a server of your own. */
  static handlers(options: EgressProxyOptions = {}): Effect.Effect<EgressHandlers, never, TenantGate> {
    return makeEgressHandlers(options)
  }

  /** Listens on `host:port`; closing the scope closes the server and destroys every open tunnel. */
  static layer(options: EgressProxyOptions = {}): Layer.Layer<EgressProxy, never, TenantGate> {
    return Layer.effect(
      EgressProxy,
      Effect.gen(function* () {
        const handlers = yield* makeEgressHandlers(options)
        const headersTimeout = positive("headersTimeoutMs", options.headersTimeoutMs, 10_000)
        const idle = positive("idleTimeoutMs", options.idleTimeoutMs, 300_000)
        const maxHeaderSize = positive("maxHeaderSize", options.maxHeaderSize, 16 * 1024)
        // The server forgets sockets that CONNECT took over, so it cannot close them: we track them all.
        const sockets = new Set<Socket>()
        const server = http.createServer({ maxHeaderSize, headersTimeout, requestTimeout: 0, keepAliveTimeout: 5_000 }, handlers.request)
        server.setTimeout(idle)
        server.on("connect", handlers.connect)
        server.on("connection", (socket: Socket) => {
          sockets.add(socket)
          socket.once("close", () => sockets.delete(socket))
        })
        const { origin, port } = yield* listen(server, options, () => {
          for (const socket of sockets) socket.destroy()
        })
        return EgressProxy.of({
          url: origin,
          port,
          connections: () => sockets.size
        })
      })
    )
  }
}
