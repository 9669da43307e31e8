import { randomBytes, randomUUID } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Clawfleet, Fleet, RecordStore, Store, StoreError, TenantGate, VirtualKeys, withActor } from "@clawfleet/core"
import { assert } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Layer, Redacted, type Scope } from "effect"
import { ToolBroker } from "../../src/proxy/ToolBroker.ts"
import { PersonCredentials } from "../../src/secrets/PersonCredentials.ts"
import { Secrets } from "../../src/secrets/Secrets.ts"
import { makeMemoryRecordStore } from "../../src/store/MemoryRecordStore.ts"
import { seedTenant, send } from "./tokenProxy.ts"

/**
 * The broker on the fleet's own gate, in front of a real MCP server (the SDK's, over Streamable
 * HTTP with sessions) that takes only the tool's real secret, reached by the SDK's real client.
 */

export const SECRET = "tool-secret-0000"
export const STALE = "tool-secret-rotated-away"
export const secrets = Secrets.layerMemory({ "tools/notes/token": SECRET, "tools/stale/token": STALE })
export const ADA_TOKEN = "gho_ada-own-token-0000"
export const BOB_TOKEN = "gho_bob-own-token-1111"
/** Whose account each token the per-person tool takes opens. */
export const ACCOUNTS: Readonly<Record<string, string>> = { [`Bearer ${ADA_TOKEN}`]: "ada", [`Bearer ${BOB_TOKEN}`]: "bob" }

export interface Seen {
  readonly method: string
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
}

/**
 * One MCP server per session, as the SDK has it; `echo`, `count` (with progress) and `slow`, and,
 * unlisted, `whoami`: the account the request's token opens.
 */
export const mcpServer = () => {
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
export const mcpTool = Effect.acquireRelease(
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

export type McpTool = Effect.Success<typeof mcpTool>

/** A store whose revision reads can be made to fail: the gate's first question on every request. */
export const flakyStore = (state: { down: boolean }) =>
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

export const KEK = Redacted.make(randomBytes(32).toString("base64"))

export const env = (state: { down: boolean }) =>
  ToolBroker.layer({ streamRecheckMs: 100 }).pipe(
    Layer.provideMerge(
      Layer.mergeAll(TenantGate.layer, secrets, PersonCredentials.layer({ keyEncryptionKey: KEK })).pipe(
        Layer.provideMerge(VirtualKeys.layer)
      )
    ),
    Layer.provideMerge(Clawfleet.layer(flakyStore(state)))
  )

export interface Ctx {
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
export const run = <A, E>(body: (ctx: Ctx) => Effect.Effect<A, E, Layer.Success<ReturnType<typeof env>> | Scope.Scope>) => {
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
export const connect = (url: string, key: string) =>
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

export const waitFor = (condition: () => boolean, what: string, poke?: () => unknown) =>
  Effect.promise(async () => {
    for (let i = 0; i < 200; i++) {
      if (condition()) return
      poke?.()
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    assert.fail(`${what} within 2 s`)
  })

export const statusOf = (promise: () => Promise<unknown>) =>
  Effect.promise(() =>
    promise().then(
      () => 200,
      (e: unknown) => (e instanceof StreamableHTTPError ? e.code : -1)
    )
  )

export const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } }
})
export const ACCEPT = { accept: "application/json, text/event-stream" }

export const post = (url: string, key: string | undefined, body = INITIALIZE) =>
  Effect.promise(() => send(url, { method: "POST", body, key, headers: ACCEPT }))
