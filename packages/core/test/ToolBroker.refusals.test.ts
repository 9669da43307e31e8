import * as http from "node:http"
import { Audit, Fleet, withActor } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Effect } from "effect"
import { connect, post, run, STALE, statusOf, waitFor } from "./support/mcp.ts"
import { send } from "./support/tokenProxy.ts"

/** A request whose path goes out as written: fetch would resolve `..` before sending. */
const rawStatus = (base: string, path: string, key: string) =>
  Effect.promise(
    () =>
      new Promise<number>((resolve, reject) => {
        const { hostname, port } = new URL(base)
        const headers = { authorization: `Bearer ${key}` }
        const req = http.request({ hostname, port, path, method: "POST", headers }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        req.on("error", reject)
        req.end("{}")
      })
  )

describe("ToolBroker", () => {
  it.effect("refuses the very next call of an open session once the grant is revoked, and cuts its streams", () =>
    run(({ broker, key, tool, grantId }) =>
      Effect.gen(function* () {
        const { client } = yield* connect(`${broker}/mcp/notes`, key)
        assert.strictEqual(yield* statusOf(() => client.callTool({ name: "echo", arguments: {} })), 200)
        yield* waitFor(() => tool.seen.some((s) => s.method === "GET"), "the GET stream opens")
        yield* (yield* Fleet).revoke(grantId).pipe(withActor("admin@example.com"))
        const posts = () => tool.seen.filter((s) => s.method === "POST").length
        const before = posts()
        assert.strictEqual(yield* statusOf(() => client.callTool({ name: "echo", arguments: {} })), 403)
        assert.strictEqual(posts(), before, "the refused call never reaches the tool")
        yield* waitFor(() => tool.cut.some((s) => s.method === "GET"), "the open GET stream is cut")
        const events = yield* (yield* Audit).list({ limit: 1000 })
        assert.isTrue(
          events.some(
            (e) => e.action === "tool.deny" && e.actor === "tenant:ada" && e.target.id === "notes" && e.decision === "not-granted"
          )
        )
      })
    )
  )

  it.effect("answers 401 without a valid key, 403 for a tool not granted and 404 for an unknown one, auditing refusals", () =>
    run(({ broker, key, tool }) =>
      Effect.gen(function* () {
        const absent = yield* post(`${broker}/mcp/notes`, undefined)
        assert.strictEqual(absent.status, 401)
        assert.strictEqual(absent.headers.get("www-authenticate"), 'Bearer realm="clawfleet"')
        assert.deepStrictEqual(absent.json, { jsonrpc: "2.0", error: { code: -32001, message: absent.json.error.message }, id: null })
        assert.strictEqual((yield* post(`${broker}/mcp/notes`, `cfk_${"x".repeat(43)}`)).status, 401)
        const sdk = new StreamableHTTPClientTransport(new URL(`${broker}/mcp/notes`), {
          requestInit: { headers: { authorization: "Bearer nope" } }
        })
        assert.strictEqual(yield* statusOf(() => new Client({ name: "tenant", version: "1.0.0" }).connect(sdk)), 401)

        const denied = yield* post(`${broker}/mcp/other`, key)
        assert.strictEqual(denied.status, 403)
        assert.strictEqual(denied.json.error.code, -32003)
        const unknown = yield* post(`${broker}/mcp/missing`, key)
        assert.strictEqual(unknown.status, 404)
        assert.strictEqual((yield* post(`${broker}/v1/other`, key)).status, 404)
        assert.strictEqual(yield* rawStatus(broker, "/mcp/notes/../admin", key), 400)
        assert.strictEqual(yield* rawStatus(broker, "/mcp/notes/%2E%2e/admin", key), 400)
        const put = yield* Effect.promise(() => send(`${broker}/mcp/notes`, { method: "PUT", key, body: "{}" }))
        assert.strictEqual(put.status, 405)
        assert.strictEqual((yield* post(`${broker}/mcp/notes`, key, "x".repeat(9 * 1024 * 1024))).status, 413)
        assert.strictEqual(tool.seen.length, 0, "nothing refused reaches the tool")

        const events = yield* (yield* Audit).list({ limit: 1000 })
        assert.deepStrictEqual(
          events.filter((e) => e.action === "tool.deny").map((e) => [e.actor, e.target.kind, e.target.id, e.decision]),
          [
            ["tenant:ada", "tool", "other", "not-granted"],
            ["tenant:ada", "tool", "missing", "unknown-tool"]
          ]
        )
      })
    )
  )

  it.effect("answers 502 when the tool's secret is missing or refused, without a word of it, and calls credential-less tools bare", () =>
    run(({ broker, key, tool }) =>
      Effect.gen(function* () {
        const unset = yield* post(`${broker}/mcp/unset`, key)
        assert.strictEqual(unset.status, 502)
        assert.match(unset.json.error.message, /credential is not configured/)
        assert.notInclude(unset.text, "tools/unset")
        assert.strictEqual(tool.seen.length, 0)

        const stale = yield* post(`${broker}/mcp/stale`, key)
        assert.strictEqual(stale.status, 502)
        assert.match(stale.json.error.message, /refused the broker's credential/)
        assert.strictEqual(tool.seen[0]?.headers.authorization, `Bearer ${STALE}`)
        assert.notInclude(stale.text, STALE)
        assert.isNull(stale.headers.get("www-authenticate"))

        const { client } = yield* connect(`${broker}/mcp/open`, key)
        const reply = yield* Effect.promise(() => client.callTool({ name: "echo", arguments: { text: "bare" } }))
        assert.deepStrictEqual(reply.content, [{ type: "text", text: "bare" }])
        const bare = tool.seen.filter((s) => s.path === "/public")
        assert.isAbove(bare.length, 0)
        for (const s of bare) assert.isUndefined(s.headers.authorization)
      })
    )
  )

  it.effect("fails closed with 503 while the store is down", () =>
    run(({ broker, key, tool, store }) =>
      Effect.gen(function* () {
        store.down = true
        const reply = yield* post(`${broker}/mcp/notes`, key)
        assert.strictEqual(reply.status, 503)
        assert.strictEqual(reply.headers.get("retry-after"), "1")
        assert.strictEqual(tool.seen.length, 0)
        store.down = false
        assert.strictEqual((yield* post(`${broker}/mcp/notes`, key)).status, 200)
      })
    )
  )
})
