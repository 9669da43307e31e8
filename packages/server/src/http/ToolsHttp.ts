import * as http from "node:http"
import { type Catalog, type Knowledge, KnowledgeMcp, listen, type Secrets, type TenantGate, ToolBroker } from "@clawfleet/core"
import { Context, Effect, Layer } from "effect"

// Not a prefix test: a tool may be called `knowledge-search`.
const KNOWLEDGE = /^\/mcp\/knowledge(?:[/?]|$)/

/**
 * The tools tenants' assistants call, on one port as their configs expect: the MCP tool broker
 * at `/mcp/<tool>` and the knowledge bases at `/mcp/knowledge/<name>`.
 */
export class ToolsHttp extends Context.Service<ToolsHttp, { readonly url: string; readonly port: number }>()(
  "@clawfleet/server/ToolsHttp"
) {
  static layer(options: {
    readonly host?: string | undefined
    readonly port?: number | undefined
  }): Layer.Layer<ToolsHttp, never, TenantGate | Secrets | Knowledge | Catalog> {
    return Layer.effect(
      ToolsHttp,
      Effect.gen(function* () {
        const broker = yield* ToolBroker.handler()
        const knowledge = yield* KnowledgeMcp.handler()
        const server = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) =>
          KNOWLEDGE.test(req.url ?? "") ? knowledge(req, res) : broker(req, res)
        )
        const { origin, port } = yield* listen(server, options)
        return ToolsHttp.of({ url: origin, port })
      })
    )
  }
}
