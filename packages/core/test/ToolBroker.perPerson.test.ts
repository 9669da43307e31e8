import { Fleet, type TenantGate, VirtualKeys, withActor } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import { ToolBroker } from "../src/proxy/ToolBroker.ts"
import { PersonCredentials } from "../src/secrets/PersonCredentials.ts"
import type { Secrets } from "../src/secrets/Secrets.ts"
import { ADA_TOKEN, BOB_TOKEN, connect, type McpTool, post, run, statusOf, waitFor } from "./support/mcp.ts"

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
