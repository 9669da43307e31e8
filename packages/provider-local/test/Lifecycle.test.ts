import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { rm } from "node:fs/promises"
import { join } from "node:path"
import { RuntimeProvider, Secrets } from "@clawfleet/core"
import { testRuntime } from "@clawfleet/core/testing"
import { afterAll, assert, describe, it, layer } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import * as Local from "../src/index.ts"
import { alive, boots, callGateway, fastConfig, isReady, observe, observeUntil, tempDataDir, tenantDir, whoami } from "./support/local.ts"

const dataDir = tempDataDir("lifecycle")
const secretsDir = tempDataDir("secrets")
afterAll(() => {
  for (const dir of [dataDir, secretsDir]) rmSync(dir, { recursive: true, force: true })
})

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8).padStart(4, "0")

// Everything under a directory, recursively, as paths relative to it.
const walk = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? [e.name, ...walk(join(dir, e.name)).map((p) => join(e.name, p))] : [e.name]
  )

describe("local provider lifecycle", () => {
  layer(Local.layer(fastConfig(dataDir)), { excludeTestServices: true, timeout: 30_000 })((it) => {
    it.effect("suspend stops the gateway and keeps its state; resume starts it on that state and port", () =>
      Effect.gen(function* () {
        const provider = yield* RuntimeProvider
        const rt = testRuntime("keeper")
        yield* provider.apply(rt)
        const running = yield* observeUntil("keeper", isReady, "ready")
        const firstBoot = readFileSync(join(tenantDir(dataDir, "keeper"), "stand-in", "first-boot"), "utf8")
        const { pid } = yield* whoami(dataDir, "keeper", running)

        yield* provider.suspend(rt)
        const asleep = yield* observe("keeper")
        assert.isFalse(asleep.workload.ready)
        assert.strictEqual(asleep.workload.reason, "NotRunning")
        assert.isFalse(asleep.resources.some((r) => r.kind === "process"))
        assert.isTrue(asleep.storage.ready && asleep.identity.ready)
        assert.isFalse(alive(pid), "the gateway is gone")

        yield* provider.resume(rt)
        const awake = yield* observeUntil("keeper", isReady, "ready after resume")
        assert.strictEqual(awake.endpoint, running.endpoint, "the remembered port, still free, is used again")
        assert.strictEqual(readFileSync(join(tenantDir(dataDir, "keeper"), "stand-in", "first-boot"), "utf8"), firstBoot)
        assert.strictEqual(boots(dataDir, "keeper").length, 2, "started twice on the same state")
      })
    )

    it.effect("destroy removes the tenant's directory; with retention only the data stays", () =>
      Effect.gen(function* () {
        const provider = yield* RuntimeProvider
        yield* provider.apply(testRuntime("gone"))
        const { pid } = yield* whoami(dataDir, "gone", yield* observeUntil("gone", isReady, "ready"))
        yield* provider.destroy("gone", { data: "delete" })
        assert.isFalse(existsSync(tenantDir(dataDir, "gone")))
        assert.isFalse(alive(pid))

        yield* provider.apply(testRuntime("kept"))
        yield* observeUntil("kept", isReady, "ready")
        yield* provider.destroy("kept", { data: "keep" })
        const left = walk(tenantDir(dataDir, "kept"))
        assert.include(left, join("stand-in", "first-boot"), "the gateway's state stays")
        assert.notInclude(left, "openclaw.json")
        assert.notInclude(left, join("clawfleet", "gateway-token"))
        assert.notInclude(left, join("clawfleet", "egress.json"))
      })
    )

    it.effect("a config change restarts the gateway with the new config; a size change does not", () =>
      Effect.gen(function* () {
        const provider = yield* RuntimeProvider
        const rt = testRuntime("reconf")
        yield* provider.apply(rt)
        const before = yield* whoami(dataDir, "reconf", yield* observeUntil("reconf", isReady, "ready"))

        const bigger = testRuntime("reconf", { spec: { ...rt.spec, resources: { ...rt.spec.resources, memory: "4Gi" as never } } })
        const resized = yield* provider.apply(bigger)
        assert.deepStrictEqual(
          resized.changes.filter((c) => c.action === "update").map((c) => c.kind),
          ["process"]
        )
        assert.strictEqual((yield* whoami(dataDir, "reconf", yield* observe("reconf"))).pid, before.pid, "not restarted")

        const config = { ...rt.openclaw.config, mcp: { servers: { github: { url: "http://broker/mcp/github" } } } }
        const plan = yield* provider.apply({ ...bigger, openclaw: { ...rt.openclaw, config } })
        assert.sameMembers(
          plan.changes.filter((c) => c.action === "update").map((c) => c.kind),
          ["config", "process"]
        )
        const after = yield* whoami(dataDir, "reconf", yield* observeUntil("reconf", isReady, "ready after the change"))
        assert.notStrictEqual(after.pid, before.pid)
        assert.isFalse(alive(before.pid))
        assert.deepStrictEqual(after.config, config)
      })
    )

    it.effect("keeps every directory 0700 and every file it writes 0600, with no temporary files left", () =>
      Effect.gen(function* () {
        const provider = yield* RuntimeProvider
        yield* provider.apply(testRuntime("private"))
        yield* observeUntil("private", isReady, "ready")
        const dir = tenantDir(dataDir, "private")
        for (const d of [dataDir, join(dataDir, "tenants"), dir, join(dir, "home"), join(dir, "tmp"), join(dir, "clawfleet")]) {
          assert.strictEqual(mode(d), "0700", d)
        }
        for (const f of ["openclaw.json", "clawfleet/gateway-token", "clawfleet/egress.json", "clawfleet/gateway-port"]) {
          assert.strictEqual(mode(join(dir, f)), "0600", f)
        }
        assert.strictEqual(mode(join(dataDir, "provider.lock")), "0600")
        assert.deepStrictEqual(
          walk(dir).filter((p) => p.endsWith(".tmp")),
          []
        )
      })
    )

    it.effect("gives the gateway its directory, token and proxy, and nothing else of the server's environment", () =>
      Effect.gen(function* () {
        const provider = yield* RuntimeProvider
        process.env.CLAWFLEET_SECRET_SENTINEL = "the server's own secret"
        yield* provider.apply(testRuntime("envy"))
        const seen = yield* observeUntil("envy", isReady, "ready")
        const me = yield* whoami(dataDir, "envy", seen)
        delete process.env.CLAWFLEET_SECRET_SENTINEL
        const dir = tenantDir(dataDir, "envy")
        const token = readFileSync(join(dir, "clawfleet", "gateway-token"), "utf8").trim()
        assert.match(seen.endpoint ?? "", /^http:\/\/127\.0\.0\.1:\d+$/)
        assert.strictEqual(me.env.OPENCLAW_STATE_DIR, dir)
        assert.strictEqual(me.env.OPENCLAW_CONFIG_PATH, join(dir, "openclaw.json"))
        assert.strictEqual(me.env.HOME, join(dir, "home"))
        assert.strictEqual(me.env.TMPDIR, join(dir, "tmp"))
        assert.strictEqual(me.env.CLAWFLEET_GATEWAY_TOKEN, token)
        assert.strictEqual(me.env.HTTPS_PROXY, "http://127.0.0.1:3128")
        assert.strictEqual(me.env.HTTP_PROXY, "http://127.0.0.1:3128")
        assert.strictEqual(me.env.NO_PROXY, "127.0.0.1,localhost")
        assert.isUndefined(me.env.CLAWFLEET_SECRET_SENTINEL)
        assert.isAtLeast(token.length, 40)
        assert.isTrue(seen.network.ready)
        assert.strictEqual(seen.network.reason, "Advisory")

        const stranger = yield* Effect.promise(() => fetch(`${seen.endpoint}/whoami`))
        assert.strictEqual(stranger.status, 401, "the gateway wants the token")
      })
    )

    it.effect("replaces a token removed behind its back and restarts the gateway with it", () =>
      Effect.gen(function* () {
        const provider = yield* RuntimeProvider
        const rt = testRuntime("retoken")
        yield* provider.apply(rt)
        const before = yield* whoami(dataDir, "retoken", yield* observeUntil("retoken", isReady, "ready"))
        yield* Effect.promise(() => rm(join(tenantDir(dataDir, "retoken"), "clawfleet", "gateway-token")))
        assert.isFalse((yield* observe("retoken")).identity.ready)
        const plan = yield* provider.apply(rt)
        assert.isTrue(plan.changes.some((c) => c.kind === "token" && c.action === "create"))
        const seen = yield* observeUntil("retoken", (o) => isReady(o) && o.identity.ready, "ready with a new token")
        const after = yield* whoami(dataDir, "retoken", seen)
        assert.notStrictEqual(after.pid, before.pid)
        assert.strictEqual((yield* callGateway(dataDir, "retoken", seen, "/whoami")).status, 200)
      })
    )

    it.effect("refuses a second provider on the same data directory", () =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(Layer.build(Local.layer(fastConfig(dataDir))).pipe(Effect.scoped))
        assert.isTrue(Exit.isFailure(exit))
        assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "in use by another local provider")
      })
    )
  })

  it.effect("fails to build on a bad configuration, naming the field", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Layer.build(Local.layer({ dataDir: "", stopTimeoutMs: -1 })).pipe(Effect.scoped))
      assert.isTrue(Exit.isFailure(exit))
      const text = String(Exit.isFailure(exit) ? exit.cause : "")
      assert.include(text, "Invalid")
      assert.include(text, "stopTimeoutMs")
    })
  )

  it.live("hands the gateway its platform secrets from Secrets, when the server provides one", () =>
    Effect.gen(function* () {
      const provider = yield* RuntimeProvider
      const rt = testRuntime("keyed", {
        secrets: [
          { env: "CLAWFLEET_GATEWAY_TOKEN", ref: { name: "clawfleet-tenant-keyed", key: "gateway-token" } },
          { env: "CLAWFLEET_MODEL_KEY", ref: { name: "clawfleet-tenant-keyed", key: "model-key" } },
          { env: "CLAWFLEET_TOOL_TOKEN", ref: { name: "clawfleet-tenant-keyed", key: "tool-token" } }
        ]
      })
      yield* provider.apply(rt)
      const me = yield* whoami(secretsDir, "keyed", yield* observeUntil("keyed", isReady, "ready"))
      assert.strictEqual(me.env.CLAWFLEET_MODEL_KEY, "vk-keyed")
      assert.isUndefined(me.env.CLAWFLEET_TOOL_TOKEN, "a missing secret is left unset")
      assert.notStrictEqual(me.env.CLAWFLEET_GATEWAY_TOKEN, "from-the-store", "the gateway token is the provider's own")
    }).pipe(
      Effect.provide(
        Local.layer(fastConfig(secretsDir)).pipe(
          Layer.provide(
            Secrets.layerMemory({
              "clawfleet-tenant-keyed/model-key": "vk-keyed",
              "clawfleet-tenant-keyed/gateway-token": "from-the-store"
            })
          )
        )
      )
    )
  )
})
