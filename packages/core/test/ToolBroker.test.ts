import { assert, describe, it } from "@effect/vitest"
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import { Effect } from "effect"
import { ACCEPT, connect, run, SECRET, waitFor } from "./support/mcp.ts"

describe("ToolBroker", () => {
  it.effect("lets a granted tenant list and call a tool with the tool's secret, which the tenant never sees", () =>
    run(({ broker, key, tool }) =>
      Effect.gen(function* () {
        const { client, transport, heard } = yield* connect(`${broker}/mcp/notes`, key)
        const { tools } = yield* Effect.promise(() => client.listTools())
        assert.deepStrictEqual(
          tools.map((t) => t.name),
          ["echo", "count", "slow"]
        )
        const reply = yield* Effect.promise(() => client.callTool({ name: "echo", arguments: { text: "hello" } }))
        assert.deepStrictEqual(reply.content, [{ type: "text", text: "hello" }])
        const session = transport.sessionId
        yield* Effect.promise(() => transport.terminateSession())

        const upstream = tool.seen.filter((s) => s.path === "/mcp")
        assert.includeMembers([...new Set(upstream.map((s) => s.method))], ["POST", "GET", "DELETE"])
        for (const s of upstream) assert.strictEqual(s.headers.authorization, `Bearer ${SECRET}`)
        assert.notInclude(JSON.stringify(tool.seen), key, "the virtual key never reaches the tool")
        const later = upstream.filter((s) => s.headers["mcp-session-id"] !== undefined)
        assert.isAbove(later.length, 2)
        for (const s of later) {
          assert.strictEqual(s.headers["mcp-session-id"], session)
          assert.isString(s.headers["mcp-protocol-version"])
        }
        assert.notInclude(heard.join("\n"), SECRET, "no header or body the tenant got carries the secret")
      })
    )
  )

  it.effect("streams SSE both ways: progress while a call runs, and server messages on the GET stream", () =>
    run(({ broker, key, tool }) =>
      Effect.gen(function* () {
        const { client } = yield* connect(`${broker}/mcp/notes`, key)
        const progress: Array<number> = []
        const reply = yield* Effect.promise(() =>
          client.callTool({ name: "count", arguments: {} }, undefined, { onprogress: (p) => void progress.push(p.progress) })
        )
        assert.deepStrictEqual(progress, [1, 2, 3])
        assert.deepStrictEqual(reply.content, [{ type: "text", text: "count" }])

        const logged: Array<unknown> = []
        client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logged.push(n.params.data))
        yield* waitFor(
          () => logged.includes("pushed"),
          "a server-initiated message arrives",
          () => tool.broadcast("pushed")
        )
      })
    )
  )

  it.effect("cuts the upstream request when the tenant hangs up", () =>
    run(({ broker, key, tool }) =>
      Effect.gen(function* () {
        const { transport } = yield* connect(`${broker}/mcp/notes`, key)
        yield* Effect.promise(async () => {
          const abort = new AbortController()
          const res = await fetch(`${broker}/mcp/notes`, {
            method: "POST",
            signal: abort.signal,
            headers: {
              ...ACCEPT,
              authorization: `Bearer ${key}`,
              "content-type": "application/json",
              "mcp-session-id": transport.sessionId ?? "",
              "mcp-protocol-version": transport.protocolVersion ?? ""
            },
            body: JSON.stringify({
              jsonrpc: "2.0",
              id: 9,
              method: "tools/call",
              params: { name: "slow", arguments: {}, _meta: { progressToken: 1 } }
            })
          })
          await res.body?.getReader().read()
          abort.abort()
        })
        yield* waitFor(() => tool.cut.some((s) => s.method === "POST"), "the tool's response is cut")
      })
    )
  )
})
