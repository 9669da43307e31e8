import * as http from "node:http"
import { Context, Effect, Layer, Option } from "effect"
import { Catalog } from "../Catalog.ts"
import { listen } from "../internal/listen.ts"
import { PersonCredentials } from "../secrets/PersonCredentials.ts"
import { Secrets } from "../secrets/Secrets.ts"
import { makeDecide } from "./broker/decide.ts"
import { makeHandler } from "./broker/handler.ts"
import { makeUpstreams, type Upstreams } from "./broker/upstream.ts"
import { TenantGate } from "./TenantGate.ts"

export interface ToolBrokerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string | undefined
  /** Default 0: any free port. */
  readonly port?: number | undefined
  /**
   * Time a tool has to begin its answer (for a JSON reply, the whole call). A stream, once
   * begun, stays open as long as both ends keep it. Default 10 minutes.
   */
  readonly upstreamTimeoutMs?: number | undefined
  /** Largest request body; larger ones get 413. Default 8 MiB. */
  readonly maxBodyBytes?: number | undefined
  /** How often an open stream checks again that its key and grant still stand. Default 30 s. */
  readonly streamRecheckMs?: number | undefined
}

const positive = (name: string, value: number | undefined, fallback: number) => {
  const v = value ?? fallback
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`ToolBroker: ${name} must be a positive integer, got ${value}`)
  return v
}

const build = (options: ToolBrokerOptions, upstreams: Upstreams) =>
  Effect.gen(function* () {
    const context = yield* Effect.context<TenantGate | Secrets>()
    const run = Effect.runPromiseWith(context)
    // The gate answers "granted or not" only; the catalog, when the fleet's is at hand, tells an
    // unknown tool from one that is not granted. Without it both are refused as not granted.
    const catalog = yield* Effect.serviceOption(Catalog)
    // Optional so a fleet without per-person tools needs no key-encryption key; without it a
    // per-person tool is refused, never called bare.
    const personCredentials = yield* Effect.serviceOption(PersonCredentials)
    const decide = makeDecide({
      gate: Context.get(context, TenantGate),
      secrets: Context.get(context, Secrets),
      personCredentials: Option.getOrUndefined(personCredentials),
      toolExists: Option.match(catalog, {
        onNone: () => () => Effect.succeed(true),
        onSome: (c) => (name: string) => Effect.map(c.tools.find(name), (found) => found !== undefined)
      })
    })
    return makeHandler(
      { decide, upstreams, run, report: (message, error) => void run(Effect.logError(message, error)) },
      {
        maxBodyBytes: positive("maxBodyBytes", options.maxBodyBytes, 8 * 1024 * 1024),
        upstreamTimeoutMs: positive("upstreamTimeoutMs", options.upstreamTimeoutMs, 600_000),
        streamRecheckMs: positive("streamRecheckMs", options.streamRecheckMs, 30_000)
      }
    )
  })

/**
 * The MCP tool broker: the one way a tenant reaches an MCP tool. `/mcp/{tool}` speaks the
 * Streamable HTTP transport (POST, GET and DELETE, JSON or SSE) and is relayed as it streams to
 * the catalog tool's URL. Every request is authenticated by the tenant's virtual key and checked
 * against the owner's grants, so a revoked grant refuses the next call even inside an open MCP
 * session; the tool's own credential is resolved through `Secrets` (or, for a per-person tool, the
 * owner's own token through `PersonCredentials`, when provided) and added server-side, and no
 * answer a tenant gets carries it.
 */
export class ToolBroker extends Context.Service<
  ToolBroker,
  {
    /** `http://host:port`; a tool is at `${url}/mcp/${tool}`. */
    readonly url: string
    readonly port: number
  }
>()("@clawfleet/core/ToolBroker") {
  /** The request listener alone, to mount on a server of your own. */
  static handler(options: ToolBrokerOptions = {}): Effect.Effect<http.RequestListener, never, TenantGate | Secrets> {
    return build(options, makeUpstreams())
  }

  /** Listens on `host:port`; closing the scope closes the server, every open stream and the upstream pool. */
  static layer(options: ToolBrokerOptions = {}): Layer.Layer<ToolBroker, never, TenantGate | Secrets> {
    return Layer.effect(
      ToolBroker,
      Effect.gen(function* () {
        const upstreams = yield* Effect.acquireRelease(Effect.sync(makeUpstreams), (u) => Effect.sync(u.close))
        const handler = yield* build(options, upstreams)
        const { origin, port } = yield* listen(http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, handler), options)
        return ToolBroker.of({ url: origin, port })
      })
    )
  }
}
