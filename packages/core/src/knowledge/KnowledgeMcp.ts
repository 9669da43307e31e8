import * as http from "node:http"
import { Context, Effect, Layer } from "effect"
import { Catalog } from "../Catalog.ts"
import { listen } from "../internal/listen.ts"
import { TenantGate } from "../proxy/TenantGate.ts"
import { makeMcpHandler } from "./internal/mcpHttp.ts"
import { makeTools } from "./internal/mcpTools.ts"
import { Knowledge } from "./Knowledge.ts"

export interface KnowledgeMcpHandlerOptions {
  /**
   * Where the server is mounted, as requests arrive (the listener sees the full path). Default
   * `/mcp/knowledge`; `${path}/{knowledge-base}` serves that base alone, as OpenClaw is configured.
   */
  readonly path?: string | undefined
  /** Largest request body; larger ones get 413. Default 1 MiB. */
  readonly maxBodyBytes?: number | undefined
}

export interface KnowledgeMcpOptions extends KnowledgeMcpHandlerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string | undefined
  /** Default 0: any free port. */
  readonly port?: number | undefined
}

type Needs = TenantGate | Knowledge | Catalog

const build = (options: KnowledgeMcpHandlerOptions) =>
  Effect.gen(function* () {
    const path = options.path ?? "/mcp/knowledge"
    if (!/^(?:\/[A-Za-z0-9._~-]+)+$/.test(path)) {
      return yield* Effect.die(new Error(`KnowledgeMcp: path must be like /mcp/knowledge (no trailing slash), got "${path}"`))
    }
    const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024
    if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0) {
      return yield* Effect.die(new Error(`KnowledgeMcp: maxBodyBytes must be a positive integer, got ${maxBodyBytes}`))
    }
    const context = yield* Effect.context<Needs>()
    const run = Effect.runPromiseWith(context)
    const gate = Context.get(context, TenantGate)
    const tools = makeTools({ gate, knowledge: Context.get(context, Knowledge), catalog: Context.get(context, Catalog) })
    return makeMcpHandler({ path, maxBodyBytes, gate, tools, run, report: (message, error) => void run(Effect.logError(message, error)) })
  })

/**
 * The knowledge bases as an MCP server with two tools: `search` (full-text, over the bases the
 * tenant is granted, or one of them) and `fetch` (one document). It speaks Streamable HTTP in its
 * stateless JSON form, so any MCP client reaches it and no session holds state between calls.
 * Every request is authenticated by the tenant's virtual key (`Authorization: Bearer`), and every
 * call asks the tenant gate which bases the owner is granted right then: a revoked grant is seen
 * by the very next call, and no answer carries a document of a base not granted. Which bases
 * exist is read from the catalog, so a base added there is searchable once granted.
 */
export class KnowledgeMcp extends Context.Service<
  KnowledgeMcp,
  {
    /** The endpoint, `http://host:port/mcp/knowledge`. */
    readonly url: string
    readonly port: number
  }
>()("@clawfleet/core/KnowledgeMcp") {
  /** The request listener alone, to mount on a server of your own at `path`. */
  static handler(options: KnowledgeMcpHandlerOptions = {}): Effect.Effect<http.RequestListener, never, Needs> {
    return build(options)
  }

  /** Listens on `host:port`; closing the scope closes the server. */
  static layer(options: KnowledgeMcpOptions = {}): Layer.Layer<KnowledgeMcp, never, Needs> {
    return Layer.effect(
      KnowledgeMcp,
      Effect.gen(function* () {
        const handler = yield* build(options)
        const { origin, port } = yield* listen(http.createServer({ keepAliveTimeout: 65_000 }, handler), options)
        return KnowledgeMcp.of({ url: `${origin}${options.path ?? "/mcp/knowledge"}`, port })
      })
    )
  }
}
