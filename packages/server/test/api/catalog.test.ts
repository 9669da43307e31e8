import { skillBundleDigest } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { sampleBundle } from "./operations.ts"
import { makeFixture, SAMPLES } from "./support.ts"

const names = (r: { json: { items: ReadonlyArray<{ name: string }> } }) => r.json.items.map((i) => i.name)

describe("catalog", () => {
  it.live("org administrators put and delete items, with If-Match; everyone reads", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture({ catalog: true })
      const put = (name: string, body: unknown, headers: Record<string, string> = {}) =>
        f.request("PUT", `/api/v1/models/${name}`, { as: "root", body, headers })

      const created = yield* put("claude-sonnet-4-5", { name: "claude-sonnet-4-5", upstream: "anthropic" })
      assert.strictEqual(created.status, 200)
      const etag = created.headers.get("etag")!
      assert.match(etag, /^"\d+"$/)
      assert.deepStrictEqual(names(yield* f.request("GET", "/api/v1/models", { as: "nemo" })), ["claude-sonnet-4-5", SAMPLES.models])
      const read = yield* f.request("GET", "/api/v1/models/claude-sonnet-4-5", { as: "mia" })
      assert.deepStrictEqual(read.json, { name: "claude-sonnet-4-5", upstream: "anthropic" })
      assert.strictEqual(read.headers.get("etag"), etag)

      // Replaced only at the ETag it was read at.
      const replaced = yield* put("claude-sonnet-4-5", { name: "claude-sonnet-4-5", upstream: "bedrock" }, { "if-match": etag })
      assert.strictEqual(replaced.status, 200)
      assert.notStrictEqual(replaced.headers.get("etag"), etag)
      const stale = yield* put("claude-sonnet-4-5", { name: "claude-sonnet-4-5", upstream: "vertex" }, { "if-match": etag })
      assert.strictEqual(stale.status, 412)
      assert.strictEqual((yield* put("nothing-here", { name: "nothing-here", upstream: "x" }, { "if-match": "*" })).status, 412)
      assert.strictEqual((yield* f.request("GET", "/api/v1/models/claude-sonnet-4-5", { as: "root" })).json.upstream, "bedrock")

      const mismatch = yield* put("gpt-5", { name: "gpt-6", upstream: "openai" })
      assert.strictEqual(mismatch.status, 400)
      assert.deepStrictEqual(
        mismatch.json.errors.map((e: { path: string }) => e.path),
        ["body.name"]
      )
      // The domain's own rules answer 400 too: a per-person tool carries no shared credential.
      const tool = yield* f.request("PUT", "/api/v1/tools/crm", {
        as: "root",
        body: { name: "crm", url: "https://crm.example.com/mcp", credentialMode: "per-person", credential: "env:CRM" }
      })
      assert.strictEqual(tool.status, 400, JSON.stringify(tool.json))

      for (const who of ["tam", "mia"] as const) {
        assert.strictEqual(
          (yield* f.request("PUT", "/api/v1/egress-domains/x.example.com", { as: who, body: { name: "x.example.com" } })).status,
          403
        )
        assert.strictEqual((yield* f.request("DELETE", `/api/v1/models/${SAMPLES.models}`, { as: who })).status, 403)
      }
      assert.strictEqual(
        (yield* f.request("DELETE", "/api/v1/models/claude-sonnet-4-5", { as: "root", headers: { "if-match": etag } })).status,
        412
      )
      assert.strictEqual((yield* f.request("DELETE", "/api/v1/models/claude-sonnet-4-5", { as: "root" })).status, 204)
      assert.strictEqual((yield* f.request("GET", "/api/v1/models/claude-sonnet-4-5", { as: "root" })).status, 404)
      assert.strictEqual((yield* f.request("DELETE", "/api/v1/models/claude-sonnet-4-5", { as: "root" })).status, 404)
      for (const [path, name] of Object.entries(SAMPLES)) {
        assert.deepStrictEqual(names(yield* f.request("GET", `/api/v1/${path}`, { as: "otto" })), [name], path)
      }
    }).pipe(Effect.scoped)
  )

  it.live("skill bundles: upload as bytes or base64 JSON, by digest; only valid bundles", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture({ catalog: true })
      const raw = (method: string, path: string, who: string, body?: Uint8Array, type = "application/octet-stream") =>
        Effect.promise(async () => {
          const res = await fetch(`${f.origin}${path}`, {
            method,
            headers: { cookie: `cf_session=${f.cookie(who as "root")}`, ...(body ? { "content-type": type } : {}) },
            ...(body ? { body: Buffer.from(body) } : {})
          })
          return { status: res.status, type: res.headers.get("content-type"), bytes: new Uint8Array(await res.arrayBuffer()) }
        })
      const digest = skillBundleDigest(sampleBundle)

      const uploaded = yield* raw("PUT", "/api/v1/skills/bundles", "root", sampleBundle)
      assert.strictEqual(uploaded.status, 200)
      assert.deepStrictEqual(JSON.parse(Buffer.from(uploaded.bytes).toString()), { digest })
      // The same bytes as base64 JSON: the same digest, nothing new.
      const again = yield* f.request("PUT", "/api/v1/skills/bundles", {
        as: "root",
        body: { bytes: Buffer.from(sampleBundle).toString("base64") }
      })
      assert.deepStrictEqual(again.json, { digest })

      const fetched = yield* raw("GET", `/api/v1/skills/bundles/${digest}`, "nemo")
      assert.strictEqual(fetched.status, 200)
      assert.strictEqual(fetched.type, "application/octet-stream")
      assert.deepStrictEqual(fetched.bytes, sampleBundle)
      assert.strictEqual((yield* f.request("GET", `/api/v1/skills/bundles/sha256:${"a".repeat(64)}`, { as: "root" })).status, 404)
      assert.strictEqual((yield* f.request("GET", "/api/v1/skills/bundles/not-a-digest", { as: "root" })).status, 400)

      const junk = yield* raw("PUT", "/api/v1/skills/bundles", "root", new TextEncoder().encode("not a bundle"))
      assert.strictEqual(junk.status, 400)
      assert.strictEqual((yield* raw("PUT", "/api/v1/skills/bundles", "tam", sampleBundle)).status, 403)

      const skill = yield* f.request("PUT", "/api/v1/skills/editor", { as: "root", body: { name: "editor", version: "2.0.0", digest } })
      assert.strictEqual(skill.status, 200)
      assert.strictEqual(
        (yield* f.request("PUT", "/api/v1/skills/bundles", { as: "root", body: { name: "bundles", version: "1.0.0", digest } })).status,
        400
      )
    }).pipe(Effect.scoped)
  )
})
