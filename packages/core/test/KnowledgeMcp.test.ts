import { Audit, Clawfleet, Fleet, StoreError, TenantGate, VirtualKeys, withActor } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Effect, Layer, Redacted, type Scope } from "effect"
import { makeMemoryKnowledge } from "../src/knowledge/internal/memory.ts"
import { Knowledge } from "../src/knowledge/Knowledge.ts"
import { KnowledgeMcp } from "../src/knowledge/KnowledgeMcp.ts"
import { seedTenant, send } from "./support/tokenProxy.ts"

/**
 * The knowledge server on the fleet's own gate, reached by the MCP SDK's real client. Ada is
 * granted `handbook`, Bob `finance`; each base has documents only it matches.
 */

/** The memory store, with searches that fail while `down`. */
const knowledgeStore = (state: { down: boolean }) =>
  Layer.effect(
    Knowledge,
    Effect.map(makeMemoryKnowledge, (k) =>
      Knowledge.of({ ...k, search: (r) => (state.down ? Effect.fail(StoreError.unavailable("connection refused", true)) : k.search(r)) })
    )
  )

const env = (state: { down: boolean }) =>
  KnowledgeMcp.layer().pipe(
    Layer.provideMerge(Layer.mergeAll(TenantGate.layer, knowledgeStore(state)).pipe(Layer.provideMerge(VirtualKeys.layer))),
    Layer.provideMerge(Clawfleet.layerMemory)
  )

interface Ctx {
  /** The endpoint, `.../mcp/knowledge`. */
  readonly url: string
  readonly ada: string
  readonly bob: string
  /** The grant of `handbook` to Ada. */
  readonly adaGrant: string
  readonly store: { down: boolean }
}

const seed = Effect.gen(function* () {
  const ada = yield* seedTenant()
  const fleet = yield* Fleet
  const knowledge = yield* Knowledge
  return yield* Effect.gen(function* () {
    yield* fleet.onboardPerson({ person: { id: "bob", email: "bob@example.com", displayName: "Bob" }, tenant: false })
    yield* fleet.createTenant({ name: "bob", spec: { owner: "bob" } })
    const bob = Redacted.value((yield* (yield* VirtualKeys).issue("bob")).key)
    yield* fleet.putCatalogItem("knowledge", { name: "handbook", displayName: "Handbook", description: "How we work" })
    yield* fleet.putCatalogItem("knowledge", { name: "finance", displayName: "Finance" })
    const grant = (person: string, name: string) =>
      fleet.grant({ subject: { kind: "person", id: person }, resource: { kind: "knowledge", name }, effect: "allow" })
    const adaGrant = (yield* grant("ada", "handbook")).id
    yield* grant("bob", "finance")
    const docs = [
      {
        knowledgeBase: "handbook",
        id: "leave",
        title: "Leave policy",
        text: "Annual leave is 25 days a year.",
        url: "https://intra.example.com/leave"
      },
      { knowledgeBase: "handbook", id: "onboarding", title: "Onboarding", text: "Laptop, badge and a desk on day one." },
      { knowledgeBase: "finance", id: "payroll", title: "Payroll calendar", text: "Salaries are paid on the 25th; leave is paid as usual." }
    ]
    yield* Effect.forEach(docs, (d) => knowledge.put(d), { discard: true })
    return { ada, bob, adaGrant }
  }).pipe(withActor("admin@example.com"))
})

const run = <A, E>(body: (ctx: Ctx) => Effect.Effect<A, E, Layer.Success<ReturnType<typeof env>> | Scope.Scope>) => {
  const store = { down: false }
  return Effect.gen(function* () {
    const seeded = yield* seed
    return yield* body({ url: (yield* KnowledgeMcp).url, store, ...seeded })
  }).pipe(Effect.provide(env(store)), Effect.scoped)
}

const connect = (url: string, key: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } })
      const client = new Client({ name: "tenant", version: "1.0.0" })
      await client.connect(transport)
      return { client, transport }
    }),
    ({ client }) => Effect.promise(() => client.close())
  )

interface Called {
  readonly isError: boolean
  readonly text: string
  readonly structured: any
}

const call = (client: Client, name: string, args: Record<string, unknown>) =>
  Effect.promise(async (): Promise<Called> => {
    const reply = await client.callTool({ name, arguments: args })
    const content = reply.content as ReadonlyArray<{ type: string; text: string }>
    return { isError: reply.isError === true, text: content.map((c) => c.text).join("\n"), structured: reply.structuredContent }
  })

const found = (c: Called): ReadonlyArray<string> => {
  assert.isFalse(c.isError, c.text)
  assert.deepStrictEqual(JSON.parse(c.text), c.structured, "the text carries the structured result")
  return c.structured.results.map((r: { knowledgeBase: string; id: string }) => `${r.knowledgeBase}/${r.id}`)
}

const statusOf = (promise: () => Promise<unknown>) =>
  Effect.promise(() =>
    promise().then(
      () => 200,
      (e: unknown) => (e instanceof StreamableHTTPError ? e.code : -1)
    )
  )

const rpc = (url: string, key: string | undefined, message: unknown, headers: Record<string, string> = {}) =>
  Effect.promise(() =>
    send(url, {
      method: "POST",
      key,
      body: typeof message === "string" ? message : JSON.stringify(message),
      headers: { accept: "application/json, text/event-stream", ...headers }
    })
  )

const initialize = (protocolVersion: string) => ({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion, capabilities: {}, clientInfo: { name: "raw", version: "1" } }
})

describe("KnowledgeMcp", () => {
  it.effect("lets Ada list the tools, search her handbook and read a document of it", () =>
    run(({ url, ada }) =>
      Effect.gen(function* () {
        const { client, transport } = yield* connect(url, ada)
        assert.strictEqual(transport.protocolVersion, "2025-11-25", "the SDK's own revision is echoed")
        assert.strictEqual(client.getServerVersion()?.name, "clawfleet-knowledge")
        const { tools } = yield* Effect.promise(() => client.listTools())
        assert.deepStrictEqual(
          tools.map((t) => t.name),
          ["search", "fetch"]
        )
        assert.include(tools[0]!.description, '"handbook" (Handbook: How we work)')
        assert.notInclude(tools[0]!.description, "finance")

        const hits = yield* call(client, "search", { query: "leave" })
        assert.deepStrictEqual(found(hits), ["handbook/leave"])
        assert.deepStrictEqual(hits.structured.results[0], {
          knowledgeBase: "handbook",
          id: "leave",
          title: "Leave policy",
          url: "https://intra.example.com/leave",
          snippet: "Annual **leave** is 25 days a year"
        })
        assert.deepStrictEqual(found(yield* call(client, "search", { query: "badge", knowledgeBase: "handbook", limit: 5 })), [
          "handbook/onboarding"
        ])

        const doc = yield* call(client, "fetch", { knowledgeBase: "handbook", id: "onboarding" })
        assert.isFalse(doc.isError)
        assert.deepStrictEqual(doc.structured, {
          knowledgeBase: "handbook",
          id: "onboarding",
          title: "Onboarding",
          text: "Laptop, badge and a desk on day one."
        })
        const missing = yield* call(client, "fetch", { knowledgeBase: "handbook", id: "nope" })
        assert.isTrue(missing.isError)
        assert.include(missing.text, 'no document "nope"')
        const bad = yield* call(client, "search", { query: 3 })
        assert.isTrue(bad.isError)
        assert.include(bad.text, "`query` must be a string")
      })
    )
  )

  it.effect("never gives Ada a finance document, even for a query only finance matches, and audits each refusal", () =>
    run(({ url, ada }) =>
      Effect.gen(function* () {
        const { client } = yield* connect(url, ada)
        assert.deepStrictEqual(found(yield* call(client, "search", { query: "payroll" })), [])
        assert.deepStrictEqual(found(yield* call(client, "search", { query: "paid 25th salaries" })), [])
        for (const [tool, args] of [
          ["search", { query: "payroll", knowledgeBase: "finance" }],
          ["fetch", { knowledgeBase: "finance", id: "payroll" }],
          ["search", { query: "payroll", knowledgeBase: "no-such-base" }]
        ] as const) {
          const refused = yield* call(client, tool, args)
          assert.isTrue(refused.isError, `${tool} ${JSON.stringify(args)}`)
          assert.match(refused.text, /is not granted to this assistant/)
          assert.notInclude(refused.text, "Salaries")
          assert.isUndefined(refused.structured)
        }
        const events = yield* (yield* Audit).list({ limit: 1000 })
        assert.deepStrictEqual(
          events.filter((e) => e.action === "knowledge.deny").map((e) => [e.actor, e.target.id, e.decision]),
          [
            ["tenant:ada", "finance", "not-granted"],
            ["tenant:ada", "finance", "not-granted"],
            ["tenant:ada", "no-such-base", "not-granted"]
          ]
        )
      })
    )
  )

  it.effect("gives Bob finance and never the handbook", () =>
    run(({ url, bob }) =>
      Effect.gen(function* () {
        const { client } = yield* connect(url, bob)
        assert.deepStrictEqual(found(yield* call(client, "search", { query: "leave" })), ["finance/payroll"])
        assert.deepStrictEqual(found(yield* call(client, "search", { query: "badge" })), [])
        assert.isTrue((yield* call(client, "fetch", { knowledgeBase: "handbook", id: "leave" })).isError)
        assert.isTrue((yield* call(client, "search", { query: "leave", knowledgeBase: "handbook" })).isError)
        assert.isFalse((yield* call(client, "fetch", { knowledgeBase: "finance", id: "payroll" })).isError)
      })
    )
  )

  it.effect("refuses Ada's very next call once her grant is revoked", () =>
    run(({ url, ada, adaGrant }) =>
      Effect.gen(function* () {
        const { client } = yield* connect(url, ada)
        assert.deepStrictEqual(found(yield* call(client, "search", { query: "leave" })), ["handbook/leave"])
        yield* (yield* Fleet).revoke(adaGrant).pipe(withActor("admin@example.com"))
        assert.deepStrictEqual(found(yield* call(client, "search", { query: "leave" })), [])
        assert.isTrue((yield* call(client, "fetch", { knowledgeBase: "handbook", id: "leave" })).isError)
        assert.isTrue((yield* call(client, "search", { query: "leave", knowledgeBase: "handbook" })).isError)
        const { tools } = yield* Effect.promise(() => client.listTools())
        assert.notInclude(tools[0]!.description, "handbook")
      })
    )
  )

  it.effect("serves one base at /mcp/knowledge/{base}, as OpenClaw is configured to reach it", () =>
    run(({ url, ada }) =>
      Effect.gen(function* () {
        const { client } = yield* connect(`${url}/handbook`, ada)
        assert.deepStrictEqual(found(yield* call(client, "search", { query: "leave" })), ["handbook/leave"])
        assert.isFalse((yield* call(client, "fetch", { id: "leave" })).isError)
        const other = yield* call(client, "search", { query: "payroll", knowledgeBase: "finance" })
        assert.isTrue(other.isError)
        assert.include(other.text, 'serves only the knowledge base "handbook"')

        const { client: finance } = yield* connect(`${url}/finance`, ada)
        const refused = yield* call(finance, "search", { query: "payroll" })
        assert.isTrue(refused.isError)
        assert.include(refused.text, '"finance" is not granted')
      })
    )
  )

  it.effect("answers 401 without a valid key, before anything else", () =>
    run(({ url }) =>
      Effect.gen(function* () {
        const absent = yield* rpc(url, undefined, initialize("2025-06-18"))
        assert.strictEqual(absent.status, 401)
        assert.strictEqual(absent.headers.get("www-authenticate"), 'Bearer realm="clawfleet"')
        assert.deepStrictEqual(absent.json, { jsonrpc: "2.0", error: { code: -32001, message: absent.json.error.message }, id: null })
        assert.strictEqual((yield* rpc(url, `cfk_${"x".repeat(43)}`, initialize("2025-06-18"))).status, 401)
        const sdk = new StreamableHTTPClientTransport(new URL(url))
        assert.strictEqual(yield* statusOf(() => new Client({ name: "tenant", version: "1.0.0" }).connect(sdk)), 401)
      })
    )
  )

  it.effect("speaks stateless JSON-RPC: versions, notifications, ping, and errors for what it does not serve", () =>
    run(({ url, ada }) =>
      Effect.gen(function* () {
        const old = yield* rpc(url, ada, initialize("2025-03-26"))
        assert.strictEqual(old.status, 200)
        assert.strictEqual(old.headers.get("content-type"), "application/json")
        assert.strictEqual(old.json.result.protocolVersion, "2025-03-26")
        assert.deepStrictEqual(old.json.result.capabilities, { tools: {} })
        assert.isNull(old.headers.get("mcp-session-id"))
        assert.strictEqual((yield* rpc(url, ada, initialize("1999-01-01"))).json.result.protocolVersion, "2025-06-18")

        const initialized = yield* rpc(url, ada, { jsonrpc: "2.0", method: "notifications/initialized" })
        assert.deepStrictEqual([initialized.status, initialized.text], [202, ""])
        assert.deepStrictEqual((yield* rpc(url, ada, { jsonrpc: "2.0", id: "p", method: "ping" })).json, {
          jsonrpc: "2.0",
          id: "p",
          result: {}
        })
        const unknown = yield* rpc(url, ada, { jsonrpc: "2.0", id: 2, method: "resources/list" })
        assert.deepStrictEqual([unknown.status, unknown.json.error.code, unknown.json.id], [200, -32601, 2])
        const noTool = yield* rpc(url, ada, { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "delete", arguments: {} } })
        assert.strictEqual(noTool.json.error.code, -32602)
        const version = yield* rpc(url, ada, { jsonrpc: "2.0", id: 4, method: "ping" }, { "mcp-protocol-version": "2099-01-01" })
        assert.strictEqual(version.status, 400)

        assert.strictEqual((yield* rpc(url, ada, "{not json")).json.error.code, -32700)
        const batch = yield* rpc(url, ada, [{ jsonrpc: "2.0", id: 5, method: "ping" }])
        assert.deepStrictEqual([batch.status, batch.json.error.code], [400, -32600])
        assert.strictEqual((yield* rpc(url, ada, { id: 6, method: "ping" })).status, 400)
        assert.strictEqual((yield* rpc(url, ada, "x".repeat(2 * 1024 * 1024))).status, 413)

        for (const method of ["GET", "DELETE", "PUT"]) {
          const reply = yield* Effect.promise(() => send(url, { method, key: ada }))
          assert.strictEqual(reply.status, 405, method)
          assert.strictEqual(reply.headers.get("allow"), "POST")
        }
        for (const path of ["/mcp/knowledgebase", "/mcp/knowledge/Not_A_Base", "/mcp/knowledge/a/b", "/other"]) {
          assert.strictEqual((yield* rpc(new URL(path, url).href, ada, initialize("2025-06-18"))).status, 404, path)
        }
      })
    )
  )

  it.effect("fails closed with 503 while the store is down", () =>
    run(({ url, ada, store }) =>
      Effect.gen(function* () {
        const search = { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "search", arguments: { query: "leave" } } }
        store.down = true
        const down = yield* rpc(url, ada, search)
        assert.strictEqual(down.status, 503)
        assert.strictEqual(down.headers.get("retry-after"), "1")
        store.down = false
        assert.deepStrictEqual(
          (yield* rpc(url, ada, search)).json.result.structuredContent.results.map((r: { id: string }) => r.id),
          ["leave"]
        )
      })
    )
  )
})
