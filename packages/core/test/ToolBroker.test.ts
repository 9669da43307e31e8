import { randomBytes, randomUUID } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Audit, Clawfleet, Fleet, RecordStore, Store, StoreError, TenantGate, VirtualKeys, withActor } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { CallToolRequestSchema, ListToolsRequestSchema, LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import { ToolBroker } from "../src/proxy/ToolBroker.ts"
import { PersonCredentials } from "../src/secrets/PersonCredentials.ts"
import { Secrets } from "../src/secrets/Secrets.ts"
import { makeMemoryRecordStore } from "../src/store/MemoryRecordStore.ts"
import { seedTenant, send } from "./support/tokenProxy.ts"

/**
 * The broker on the fleet's own gate, in front of a real MCP server (the SDK's, over Streamable
 * HTTP with sessions) that takes only the tool's real secret, reached by the SDK's real client.
 */

const SECRET = "tool-secret-0000"
const STALE = "tool-secret-rotated-away"
const secrets = Secrets.layerMemory({ "tools/notes/token": SECRET, "tools/stale/token": STALE })
const ADA_TOKEN = "gho_ada-own-token-0000"
const BOB_TOKEN = "gho_bob-own-token-1111"
/** Whose account each token the per-person tool takes opens. */
const ACCOUNTS: Readonly<Record<string, string>> = { [`Bearer ${ADA_TOKEN}`]: "ada", [`Bearer ${BOB_TOKEN}`]: "bob" }

interface Seen {
  readonly method: string
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
}

/**
 * One MCP server per session, as the SDK has it; `echo`, `count` (with progress) and `slow`, and,
 * unlisted, `whoami`: the account the request's token opens.
 */
const mcpServer = () => {
  const server = new Server({ name: "notes", version: "1.0.0" }, { capabilities: { tools: {}, logging: {} } })
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: ["echo", "count", "slow"].map((name) => ({ name, inputSchema: { type: "object" as const } }))
  }))
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name, arguments: args = {} } = request.params
    const token = request.params._meta?.progressToken
    const progress = (n: number) =>
      token === undefined
        ? Promise.resolve()
        : extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: n, total: 3 } })
    if (name === "whoami") {
      const account = ACCOUNTS[String(extra.requestInfo?.headers.authorization)] ?? "nobody"
      return { content: [{ type: "text" as const, text: account }] }
    }
    if (name === "count") for (let i = 1; i <= 3; i++) await progress(i)
    if (name === "slow") {
      await progress(1)
      await new Promise((resolve) => setTimeout(resolve, 1500))
    }
    return { content: [{ type: "text" as const, text: String(args.text ?? name) }] }
  })
  return server
}

/**
 * `/mcp` takes only `Bearer SECRET` and answers anything else 401, echoing what it got as a
 * careless server might; `/personal` takes the token of any person it knows (`ACCOUNTS`) and
 * `/public` no credential. Records every request it sees and, for each, whether its response
 * finished or was cut.
 */
const mcpTool = Effect.acquireRelease(
  Effect.promise(async () => {
    const seen: Array<Seen> = []
    const cut: Array<Seen> = []
    const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: Server }>()
    const srv = http.createServer((req, res) => {
      const entry = { method: req.method ?? "", path: req.url ?? "", headers: req.headers }
      seen.push(entry)
      res.on("close", () => void (res.writableFinished ? undefined : cut.push(entry)))
      const auth = req.headers.authorization ?? ""
      const personal = entry.path.startsWith("/personal")
      if (!entry.path.startsWith("/public") && (personal ? ACCOUNTS[auth] === undefined : auth !== `Bearer ${SECRET}`)) {
        res.writeHead(401, { "www-authenticate": `Bearer error="invalid_token", got="${req.headers.authorization}"` })
        return void res.end(JSON.stringify({ error: `rejected ${req.headers.authorization}` }))
      }
      const sid = req.headers["mcp-session-id"]
      const found = typeof sid === "string" ? sessions.get(sid) : undefined
      if (found !== undefined) return void found.transport.handleRequest(req, res)
      const server = mcpServer()
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => void sessions.set(id, { transport, server })
      })
      void server.connect(transport).then(() => transport.handleRequest(req, res))
    })
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve))
    return {
      url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
      seen,
      cut,
      /** A server-initiated message, which only the session's GET stream can carry. */
      broadcast: (data: string) => Promise.all([...sessions.values()].map((s) => s.server.sendLoggingMessage({ level: "info", data }))),
      srv
    }
  }),
  ({ srv }) =>
    Effect.promise(() => {
      srv.closeAllConnections()
      return new Promise<void>((resolve) => srv.close(() => resolve()))
    })
)

type McpTool = Effect.Success<typeof mcpTool>

/** A store whose revision reads can be made to fail: the gate's first question on every request. */
const flakyStore = (state: { down: boolean }) =>
  Store.layerFromRecordStore(
    Layer.effect(
      RecordStore,
      Effect.map(makeMemoryRecordStore, (store) =>
        RecordStore.of({
          ...store,
          revision: (tables) => (state.down ? Effect.fail(StoreError.unavailable("connection refused", true)) : store.revision(tables))
        })
      )
    )
  )

const KEK = Redacted.make(randomBytes(32).toString("base64"))

const env = (state: { down: boolean }) =>
  ToolBroker.layer({ streamRecheckMs: 100 }).pipe(
    Layer.provideMerge(
      Layer.mergeAll(TenantGate.layer, secrets, PersonCredentials.layer({ keyEncryptionKey: KEK })).pipe(
        Layer.provideMerge(VirtualKeys.layer)
      )
    ),
    Layer.provideMerge(Clawfleet.layer(flakyStore(state)))
  )

interface Ctx {
  readonly broker: string
  readonly key: string
  readonly tool: McpTool
  /** The grant of `notes` to Ada. */
  readonly grantId: string
  readonly store: { down: boolean }
}

/**
 * Ada is granted `notes` (its real secret configured), `stale` (a secret the tool no longer
 * takes), `unset` (no secret configured) and `open` (no credential); `other` exists, not granted.
 */
const run = <A, E>(body: (ctx: Ctx) => Effect.Effect<A, E, Layer.Success<ReturnType<typeof env>> | Scope.Scope>) => {
  const store = { down: false }
  return Effect.gen(function* () {
    const tool = yield* mcpTool
    const key = yield* seedTenant()
    const fleet = yield* Fleet
    const grantId = yield* Effect.gen(function* () {
      const secured = (name: string) => ({ name, url: `${tool.url}/mcp`, credential: { name: `tools/${name}`, key: "token" } })
      for (const name of ["notes", "stale", "unset", "other"]) yield* fleet.putCatalogItem("tool", secured(name))
      yield* fleet.putCatalogItem("tool", { name: "open", url: `${tool.url}/public` })
      const ids: Array<string> = []
      for (const name of ["notes", "stale", "unset", "open"]) {
        const g = yield* fleet.grant({ subject: { kind: "person", id: "ada" }, resource: { kind: "tool", name }, effect: "allow" })
        ids.push(g.id)
      }
      return ids[0]!
    }).pipe(withActor("admin@example.com"))
    return yield* body({ broker: (yield* ToolBroker).url, key, tool, grantId, store })
  }).pipe(Effect.provide(env(store)), Effect.scoped)
}

/** The SDK's client on `/mcp/{tool}`, keeping every response's headers and body as the tenant saw them. */
const connect = (url: string, key: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const heard: Array<string> = []
      const keep = async (res: Response) => {
        heard.push(JSON.stringify([...res.headers]))
        const reader = res.body?.getReader()
        const text = new TextDecoder()
        for (let r = await reader?.read(); r !== undefined && !r.done; r = await reader?.read()) heard.push(text.decode(r.value))
      }
      const transport = new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${key}` } },
        fetch: async (input, init) => {
          const res = await fetch(input, init)
          void keep(res.clone()).catch(() => undefined)
          return res
        }
      })
      const client = new Client({ name: "tenant", version: "1.0.0" })
      await client.connect(transport)
      return { client, transport, heard }
    }),
    ({ client }) => Effect.promise(() => client.close())
  )

const waitFor = (condition: () => boolean, what: string, poke?: () => unknown) =>
  Effect.promise(async () => {
    for (let i = 0; i < 200; i++) {
      if (condition()) return
      poke?.()
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    assert.fail(`${what} within 2 s`)
  })

const statusOf = (promise: () => Promise<unknown>) =>
  Effect.promise(() =>
    promise().then(
      () => 200,
      (e: unknown) => (e instanceof StreamableHTTPError ? e.code : -1)
    )
  )

const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } }
})
const ACCEPT = { accept: "application/json, text/event-stream" }

const post = (url: string, key: string | undefined, body = INITIALIZE) =>
  Effect.promise(() => send(url, { method: "POST", body, key, headers: ACCEPT }))

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

/**
 * `github` acts as each person. Bob and Carol get assistants of their own beside Ada's, and all
 * three are granted it; Ada and Bob have connected their own tokens, Carol has not. Returns the
 * virtual keys of Bob's assistant and Carol's.
 */
const seedPersonal = (tool: McpTool) =>
  Effect.gen(function* () {
    const fleet = yield* Fleet
    yield* fleet.putCatalogItem("tool", { name: "github", url: `${tool.url}/personal`, credentialMode: "per-person" })
    // Bob's assistant is named apart from him: the token is the owner's, not the tenant's.
    yield* fleet.onboardPerson({ person: { id: "bob", email: "bob@example.com", displayName: "Bob" }, tenant: { name: "bobs-helper" } })
    yield* fleet.onboardPerson({ person: { id: "carol", email: "carol@example.com", displayName: "Carol" } })
    for (const id of ["ada", "bob", "carol"]) {
      yield* fleet.grant({ subject: { kind: "person", id }, resource: { kind: "tool", name: "github" }, effect: "allow" })
    }
    const people = yield* PersonCredentials
    yield* people.set({ tool: "github", person: "ada", token: Redacted.make(ADA_TOKEN) })
    yield* people.set({ tool: "github", person: "bob", token: Redacted.make(BOB_TOKEN) })
    const keys = yield* VirtualKeys
    return { bob: Redacted.value((yield* keys.issue("bobs-helper")).key), carol: Redacted.value((yield* keys.issue("carol")).key) }
  }).pipe(withActor("admin@example.com"))

const whoami = (client: Client) =>
  Effect.promise(() => client.callTool({ name: "whoami", arguments: {} })).pipe(Effect.map((r) => (r.content as any)[0].text))

/** A second broker on the same fleet, built where no `PersonCredentials` is at hand. */
const brokerWithoutPersonal = Effect.gen(function* () {
  const built = yield* Layer.build(ToolBroker.layer()).pipe(
    Effect.updateContext((context: Context.Context<TenantGate | Secrets | Scope.Scope | PersonCredentials>) =>
      Context.omit(PersonCredentials)(context)
    )
  )
  return Context.get(built, ToolBroker).url
})

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

  it.effect("sends each tenant's calls to a per-person tool with its own owner's token, never another's", () =>
    run(({ broker, key, tool }) =>
      Effect.gen(function* () {
        const { bob } = yield* seedPersonal(tool)
        const [ada, other] = yield* Effect.all([connect(`${broker}/mcp/github`, key), connect(`${broker}/mcp/github`, bob)], {
          concurrency: 2
        })
        for (let i = 0; i < 3; i++) {
          assert.deepStrictEqual(yield* Effect.all([whoami(ada.client), whoami(other.client)], { concurrency: 2 }), ["ada", "bob"])
        }
        const upstream = tool.seen.filter((s) => s.path === "/personal")
        const sessions = { [ada.transport.sessionId!]: ADA_TOKEN, [other.transport.sessionId!]: BOB_TOKEN }
        for (const s of upstream) {
          const sid = s.headers["mcp-session-id"]
          if (typeof sid === "string") assert.strictEqual(s.headers.authorization, `Bearer ${sessions[sid]}`)
        }
        assert.includeMembers(
          upstream.map((s) => s.headers.authorization),
          [`Bearer ${ADA_TOKEN}`, `Bearer ${BOB_TOKEN}`]
        )
        for (const heard of [ada.heard, other.heard]) {
          for (const token of [ADA_TOKEN, BOB_TOKEN]) assert.notInclude(heard.join("\n"), token)
        }
      })
    )
  )

  it.effect("answers 502 for an owner who has not connected the tool, and from the next call on once they disconnect", () =>
    run(({ broker, key, tool }) =>
      Effect.gen(function* () {
        const { bob, carol } = yield* seedPersonal(tool)
        const absent = yield* post(`${broker}/mcp/github`, carol)
        assert.strictEqual(absent.status, 502)
        assert.match(absent.json.error.message, /has not connected this tool/)
        assert.strictEqual(tool.seen.length, 0)

        const { client } = yield* connect(`${broker}/mcp/github`, key)
        assert.strictEqual(yield* whoami(client), "ada")
        yield* waitFor(() => tool.seen.some((s) => s.method === "GET"), "the GET stream opens")
        yield* (yield* PersonCredentials).remove("github", "ada")
        const posts = () => tool.seen.filter((s) => s.method === "POST").length
        const before = posts()
        assert.strictEqual(yield* statusOf(() => client.callTool({ name: "whoami", arguments: {} })), 502)
        assert.strictEqual(posts(), before, "the refused call never reaches the tool")
        yield* waitFor(() => tool.cut.some((s) => s.method === "GET"), "the open GET stream is cut")
        assert.strictEqual((yield* post(`${broker}/mcp/github`, bob)).status, 200, "Bob's connection stands")

        // A token the provider no longer takes is the person's to renew, and is not repeated back.
        yield* (yield* PersonCredentials).set({ tool: "github", person: "carol", token: Redacted.make("gho_revoked") })
        const revoked = yield* post(`${broker}/mcp/github`, carol)
        assert.strictEqual(revoked.status, 502)
        assert.match(revoked.json.error.message, /must connect the tool again/)
        assert.notInclude(revoked.text, "gho_revoked")
      })
    )
  )

  it.effect("refuses per-person tools with 502 when the broker has no PersonCredentials, and serves shared ones as before", () =>
    run(({ key, tool }) =>
      Effect.gen(function* () {
        yield* seedPersonal(tool)
        const bare = yield* brokerWithoutPersonal
        const reply = yield* post(`${bare}/mcp/github`, key)
        assert.strictEqual(reply.status, 502)
        assert.match(reply.json.error.message, /per-person credentials are not configured/)
        assert.strictEqual(tool.seen.length, 0)
        assert.strictEqual((yield* post(`${bare}/mcp/notes`, key)).status, 200)
      })
    )
  )
})
