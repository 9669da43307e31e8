import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Clawfleet, Fleet, makeAgentApi, SigningKeys, TenantAgent, TenantGate, Tokens, VirtualKeys, withActor } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { type SkillSyncOptions, syncSkills } from "../src/agent/SkillSync.ts"
import type { SkillFileInput } from "../src/skills/bundle.ts"
import { BUNDLE_FORMAT, bundleDigest, MARKER_FILE } from "../src/skills/bundle.ts"
import { SkillBundles } from "../src/skills/SkillBundles.ts"

const ISSUER = "https://clawfleet.test"

const controlPlane = Layer.mergeAll(Tokens.layer({ issuer: ISSUER }), TenantGate.layer, SkillBundles.layer).pipe(
  Layer.provideMerge(SigningKeys.layer()),
  Layer.provideMerge(VirtualKeys.layer),
  Layer.provideMerge(Layer.fresh(Clawfleet.layerMemory))
)

const v1: ReadonlyArray<SkillFileInput> = [
  { path: "SKILL.md", content: "---\nname: weather\n---\nAsk about the weather.\n" },
  { path: "scripts/forecast.sh", content: "#!/bin/sh\ncurl wttr.in\n", mode: 0o755 },
  { path: "data/cities.bin", content: new Uint8Array(Array.from({ length: 256 }, (_, i) => i)) }
]
const v2: ReadonlyArray<SkillFileInput> = [
  { path: "SKILL.md", content: "---\nname: weather\n---\nAsk about the weather, now with rain.\n" },
  { path: "scripts/rain.sh", content: "#!/bin/sh\necho rain\n", mode: 0o755 }
]

/** A fleet in memory with Ada and Bob, the agent API on loopback, and a fresh skills directory. */
const setup = Effect.gen(function* () {
  const ctx = yield* Layer.build(controlPlane)
  const admin = <A, E>(e: Effect.Effect<A, E, any>) => e.pipe(Effect.provide(ctx), withActor("admin@example.com")) as Effect.Effect<A, E>
  const fleet = Context.get(ctx, Fleet)
  yield* admin(
    Effect.forEach(["ada", "bob"], (id) =>
      fleet.onboardPerson({ person: { id, email: `${id}@example.com`, displayName: id }, tenant: { name: id } })
    )
  )
  const keyOf = (tenant: string) => admin(Effect.map(Context.get(ctx, VirtualKeys).issue(tenant), (k) => k.key))
  const handler = yield* admin(makeAgentApi)
  const server = yield* Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<http.Server>((resolve) => {
          const s = http.createServer(handler)
          s.listen(0, "127.0.0.1", () => resolve(s))
        })
    ),
    (s) =>
      Effect.promise(
        () =>
          new Promise<void>((resolve) => {
            s.closeAllConnections()
            s.close(() => resolve())
          })
      )
  )
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const root = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "clawfleet-skills-"))),
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )
  const skillsDir = join(root, "skills")
  const bundles = Context.get(ctx, SkillBundles)
  const publish = (name: string, version: string, files: ReadonlyArray<SkillFileInput>) =>
    admin(
      Effect.gen(function* () {
        const bytes = yield* bundles.pack(files)
        const digest = yield* bundles.put(bytes)
        yield* fleet.putCatalogItem("skill", { name, version, digest })
        return { bytes, digest }
      })
    )
  const grant = (name: string) =>
    admin(fleet.grant({ subject: { kind: "person", id: "ada" }, resource: { kind: "skill", name }, effect: "allow" }))
  const adaKey = yield* keyOf("ada")
  const options = (extra: Partial<SkillSyncOptions> = {}): SkillSyncOptions => ({
    controlPlaneUrl: url,
    tenantKey: adaKey,
    skillsDir,
    ...extra
  })
  return { admin, fleet, keyOf, url, root, skillsDir, publish, grant, adaKey, options, bundles }
})

/** Wraps fetch to count bundle downloads and, optionally, rewrite what the control plane answers. */
const spyFetch = (rewrite?: (url: string, body: Uint8Array) => Uint8Array) => {
  const downloads: Array<string> = []
  const fetcher: typeof fetch = async (input, init) => {
    const url = String(input)
    const res = await fetch(input, init)
    if (!url.includes("/agent/v1/skills/")) return res
    downloads.push(url)
    if (rewrite === undefined) return res
    return new Response(rewrite(url, new Uint8Array(await res.arrayBuffer())), { status: res.status, headers: res.headers })
  }
  return { fetcher, downloads }
}

const tree = async (dir: string): Promise<Record<string, string>> => {
  const out: Record<string, string> = {}
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    out[path.slice(dir.length + 1)] = (await readFile(path)).toString("base64")
  }
  return out
}

const expected = (files: ReadonlyArray<SkillFileInput>) =>
  Object.fromEntries(files.map((f) => [f.path, Buffer.from(f.content).toString("base64")]))

const get = (url: string, headers: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const res = await fetch(url, { headers })
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) }
  })

describe("skill sync", () => {
  it.live("installs granted skills byte for byte, skips what is current, replaces new versions whole and removes revoked ones", () =>
    Effect.gen(function* () {
      const h = yield* setup
      const { digest: d1 } = yield* h.publish("weather", "1.0.0", v1)
      // Someone else's skill directory, and a stray file: neither is ever touched.
      yield* Effect.promise(async () => {
        await mkdir(join(h.skillsDir, "mine"), { recursive: true })
        await writeFile(join(h.skillsDir, "mine", "SKILL.md"), "hand made")
        await writeFile(join(h.skillsDir, "notes.txt"), "keep me")
      })

      const before = yield* syncSkills(h.options())
      assert.deepStrictEqual(before, { installed: [], removed: [], failed: [], unchanged: [] }, "nothing granted, nothing installed")

      const grant = yield* h.grant("weather")
      const spy = spyFetch()
      const first = yield* syncSkills(h.options({ fetch: spy.fetcher }))
      assert.deepStrictEqual(first.installed, [{ name: "weather", version: "1.0.0", digest: d1 }])
      assert.strictEqual(spy.downloads.length, 1)
      const dir = join(h.skillsDir, "weather")
      const files = yield* Effect.promise(() => tree(dir))
      assert.deepStrictEqual(files, { ...expected(v1), [MARKER_FILE]: files[MARKER_FILE]! })
      const marker = JSON.parse(yield* Effect.promise(() => readFile(join(dir, MARKER_FILE), "utf8")))
      assert.deepStrictEqual(marker, { name: "weather", version: "1.0.0", digest: d1 })
      assert.strictEqual((yield* Effect.promise(() => stat(join(dir, "scripts/forecast.sh")))).mode & 0o777, 0o755)
      assert.strictEqual((yield* Effect.promise(() => stat(join(dir, "SKILL.md")))).mode & 0o777, 0o644)

      const again = yield* syncSkills(h.options({ fetch: spy.fetcher }))
      assert.deepStrictEqual(again, { installed: [], removed: [], failed: [], unchanged: ["weather"] })
      assert.strictEqual(spy.downloads.length, 1, "a current skill is not downloaded again")

      const { digest: d2 } = yield* h.publish("weather", "2.0.0", v2)
      const upgraded = yield* syncSkills(h.options())
      assert.deepStrictEqual(upgraded.installed, [{ name: "weather", version: "2.0.0", digest: d2 }])
      const files2 = yield* Effect.promise(() => tree(dir))
      assert.deepStrictEqual(files2, { ...expected(v2), [MARKER_FILE]: files2[MARKER_FILE]! }, "nothing of 1.0.0 is left")

      yield* h.admin(h.fleet.revoke(grant.id))
      const revoked = yield* syncSkills(h.options())
      assert.deepStrictEqual(revoked.removed, ["weather"])
      assert.deepStrictEqual((yield* Effect.promise(() => readdir(h.skillsDir))).sort(), ["mine", "notes.txt"])
      assert.strictEqual(yield* Effect.promise(() => readFile(join(h.skillsDir, "mine", "SKILL.md"), "utf8")), "hand made")
    }).pipe(Effect.scoped)
  )

  it.live("refuses a bundle whose bytes do not match its digest, and keeps the version it has", () =>
    Effect.gen(function* () {
      const h = yield* setup
      yield* h.publish("weather", "1.0.0", v1)
      yield* h.grant("weather")
      const flip = spyFetch((_url, body) => {
        const copy = new Uint8Array(body)
        copy[copy.length - 10]! ^= 1
        return copy
      })
      const tampered = yield* syncSkills(h.options({ fetch: flip.fetcher }))
      assert.deepStrictEqual(tampered.installed, [])
      assert.match(tampered.failed[0]!.reason, /SHA-256 does not match/)
      assert.deepStrictEqual(yield* Effect.promise(() => readdir(h.skillsDir)), [], "nothing written, no scratch left")

      yield* syncSkills(h.options())
      yield* h.publish("weather", "2.0.0", v2)
      const kept = yield* syncSkills(h.options({ fetch: flip.fetcher }))
      assert.strictEqual(kept.failed.length, 1)
      assert.deepStrictEqual(
        Object.keys(yield* Effect.promise(() => tree(join(h.skillsDir, "weather")))).sort(),
        [...Object.keys(expected(v1)), MARKER_FILE].sort()
      )
    }).pipe(Effect.scoped)
  )

  it.live("refuses a bundle with unsafe paths at put and again at unpack, even when its digest matches", () =>
    Effect.gen(function* () {
      const h = yield* setup
      const evil = Buffer.from(
        JSON.stringify({
          format: BUNDLE_FORMAT,
          files: [
            { path: "../../escaped", mode: 420, content: Buffer.from("pwned").toString("base64") },
            { path: "SKILL.md", mode: 420, content: Buffer.from("x").toString("base64") }
          ]
        })
      )
      const put = yield* Effect.flip(h.admin(h.bundles.put(evil)))
      assert.strictEqual(put._tag, "ValidationError")
      // A control plane that serves it anyway (compromised, or a man in the middle with the listing too).
      const digest = bundleDigest(evil)
      const liar: typeof fetch = async (input) =>
        String(input).endsWith("/agent/v1/skills")
          ? Response.json([{ name: "evil", version: "1", digest }])
          : new Response(evil, { status: 200 })
      const report = yield* syncSkills(h.options({ fetch: liar }))
      assert.deepStrictEqual(report.installed, [])
      assert.match(report.failed[0]!.reason, /invalid: files\.0\.path must be normalised/)
      assert.deepStrictEqual(yield* Effect.promise(() => readdir(h.skillsDir)), [])
      assert.deepStrictEqual(yield* Effect.promise(() => readdir(h.root)), ["skills"], "nothing escaped the skills directory")

      const badName = yield* Effect.flip(
        syncSkills(h.options({ fetch: async () => Response.json([{ name: "../x", version: "1", digest }]) }))
      )
      assert.strictEqual(badName.reason, "InvalidResponse")
    }).pipe(Effect.scoped)
  )

  it.live("serves a bundle only to a tenant granted it, with an immutable ETag; nothing else is an oracle", () =>
    Effect.gen(function* () {
      const h = yield* setup
      const { bytes, digest } = yield* h.publish("weather", "1.0.0", v1)
      const ada = { authorization: `Bearer ${Redacted.value(h.adaKey)}` }
      const bob = { authorization: `Bearer ${Redacted.value(yield* h.keyOf("bob"))}` }
      const bundleUrl = `${h.url}/agent/v1/skills/${digest}`

      const ungranted = yield* get(bundleUrl, ada)
      const unknown = yield* get(`${h.url}/agent/v1/skills/${bundleDigest(Buffer.from("nothing"))}`, ada)
      assert.strictEqual(ungranted.status, 404)
      assert.deepStrictEqual(ungranted.body, unknown.body, "not granted and not stored answer alike")
      assert.strictEqual((yield* get(`${h.url}/agent/v1/skills/..%2F..%2Fetc`, ada)).status, 404)
      assert.strictEqual((yield* get(bundleUrl)).status, 401)

      yield* h.grant("weather")
      assert.deepStrictEqual(JSON.parse((yield* get(`${h.url}/agent/v1/skills`, ada)).body.toString()), [
        { name: "weather", version: "1.0.0", digest }
      ])
      const served = yield* get(bundleUrl, ada)
      assert.strictEqual(served.status, 200)
      assert.deepStrictEqual(served.body, Buffer.from(bytes))
      assert.strictEqual(served.headers.get("etag"), `"${digest}"`)
      assert.strictEqual(served.headers.get("cache-control"), "private, immutable")
      assert.strictEqual((yield* get(bundleUrl, { ...ada, "if-none-match": `"${digest}"` })).status, 304)

      assert.deepStrictEqual(JSON.parse((yield* get(`${h.url}/agent/v1/skills`, bob)).body.toString()), [])
      const bobs = yield* get(bundleUrl, bob)
      assert.strictEqual(bobs.status, 404)
      assert.deepStrictEqual(bobs.body, unknown.body)
    }).pipe(Effect.scoped)
  )

  it.live("a listing that fails changes nothing on disk", () =>
    Effect.gen(function* () {
      const h = yield* setup
      yield* h.publish("weather", "1.0.0", v1)
      yield* h.grant("weather")
      yield* syncSkills(h.options())
      const refused = yield* Effect.flip(syncSkills(h.options({ tenantKey: Redacted.make("cfk_not-a-key") })))
      assert.strictEqual(refused.reason, "Refused")
      const down = yield* Effect.flip(syncSkills(h.options({ controlPlaneUrl: "http://127.0.0.1:1" })))
      assert.strictEqual(down.reason, "Unreachable")
      assert.deepStrictEqual(yield* Effect.promise(() => readdir(h.skillsDir)), ["weather"])
    }).pipe(Effect.scoped)
  )

  it.live("the tenant agent syncs at start and every interval, on demand, and survives an unreachable control plane", () =>
    Effect.gen(function* () {
      const h = yield* setup
      yield* h.publish("weather", "1.0.0", v1)
      yield* h.grant("weather")
      const agentWith = (controlPlaneUrl: string, skillsDir?: string) =>
        Effect.map(
          Layer.build(
            TenantAgent.layer({
              tenant: "ada",
              controlPlaneUrl,
              issuer: ISSUER,
              tenantKey: h.adaKey,
              gateway: { url: "http://127.0.0.1:9", token: Redacted.make("gw") },
              secureCookie: false,
              skillsDir,
              skillSyncIntervalMs: 50
            })
          ),
          (ctx) => Context.get(ctx, TenantAgent)
        )
      const agent = yield* agentWith(h.url, h.skillsDir)
      const appears = (path: string) =>
        Effect.gen(function* () {
          for (let i = 0; i < 200; i++) {
            if (
              yield* Effect.promise(() =>
                stat(path).then(
                  () => true,
                  () => false
                )
              )
            )
              return true
            yield* Effect.sleep("10 millis")
          }
          return false
        })
      assert.isTrue(yield* appears(join(h.skillsDir, "weather", "SKILL.md")), "synced at start")
      yield* h.publish("notes", "0.1.0", [{ path: "SKILL.md", content: "notes" }])
      yield* h.grant("notes")
      assert.isTrue(yield* appears(join(h.skillsDir, "notes", "SKILL.md")), "synced again on the interval")
      const now = yield* agent.syncSkills()
      assert.deepStrictEqual([...now.unchanged].sort(), ["notes", "weather"])

      const stranded = yield* agentWith("http://127.0.0.1:1", join(h.root, "other"))
      assert.strictEqual((yield* Effect.flip(stranded.syncSkills())).reason, "Unreachable")
      yield* Effect.sleep("120 millis")
      assert.strictEqual((yield* get(`${stranded.url}/clawfleet/health`)).status, 200, "still serving after failed rounds")

      const plain = yield* agentWith(h.url)
      assert.strictEqual((yield* Effect.flip(plain.syncSkills())).reason, "NotConfigured")
    }).pipe(Effect.scoped)
  )
})
