import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Fleet, Reconciler, Tenants, withActor } from "@clawfleet/core"
import { MemoryProvider } from "@clawfleet/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { loadServerConfig } from "../src/ops/ServerConfig.ts"
import * as Server from "../src/Server.ts"
import { repoRoot } from "./support/devProcess.ts"
import { freePortRange } from "./support/ports.ts"

const KEY = randomBytes(32).toString("base64")
const SECRET = "oidc-client-secret-never-printed"

/** A config file in a fresh directory: PGlite beside it, the four listeners on free ports from `base`. */
const configFile = (base: number, extra: Record<string, unknown> = {}) => {
  const dir = mkdtempSync(join(tmpdir(), "clawfleet-server-"))
  const path = join(dir, "config.json")
  writeFileSync(
    path,
    JSON.stringify({
      publicUrl: `http://127.0.0.1:${base}`,
      listen: { host: "127.0.0.1", port: base },
      store: { kind: "pglite", dataDir: join(dir, "data") },
      oidc: { issuer: "https://login.example.com", clientId: "clawfleet", clientSecret: SECRET },
      tokenProxy: { port: base + 1 },
      egressProxy: { port: base + 2 },
      tools: { port: base + 3 },
      ...extra
    })
  )
  return path
}

const get = (url: string) => Effect.promise(() => fetch(url).then(async (r) => ({ status: r.status, body: await r.text() })))

describe("Server.layer", () => {
  it.live(
    "serves the control plane from a configuration, and the reconciler brings a new person's tenant to Ready",
    () =>
      Effect.gen(function* () {
        const base = yield* Effect.promise(() => freePortRange(4))
        const config = yield* loadServerConfig({ argv: ["--config", configFile(base)], env: { CLAWFLEET_KEY_ENCRYPTION_KEY: KEY } })
        yield* Effect.gen(function* () {
          const server = yield* Server.Server
          assert.strictEqual(server.listenUrl, `http://127.0.0.1:${base}`)
          assert.strictEqual(server.tokenProxyUrl, `http://127.0.0.1:${base + 1}`)
          assert.strictEqual(server.provider, "custom")
          assert.strictEqual((yield* get(`${server.listenUrl}/healthz`)).status, 200)
          // Every answer carries a request id: the caller's when sane, else a fresh one.
          const ids = yield* Effect.promise(async () => {
            const mine = await fetch(`${server.listenUrl}/healthz`, { headers: { "x-request-id": "ticket-42" } })
            const bad = await fetch(`${server.listenUrl}/healthz`, { headers: { "x-request-id": "no spaces allowed" } })
            return [mine.headers.get("x-request-id"), bad.headers.get("x-request-id")]
          })
          assert.strictEqual(ids[0], "ticket-42")
          assert.match(ids[1]!, /^[0-9a-f-]{36}$/)
          assert.strictEqual((yield* get(`${server.listenUrl}/readyz`)).status, 200)
          const openapi = yield* get(`${server.listenUrl}/openapi.json`)
          assert.strictEqual(openapi.status, 200)
          assert.property(JSON.parse(openapi.body), "paths")
          const metrics = yield* get(`${server.listenUrl}/metrics`)
          assert.strictEqual(metrics.status, 200)
          assert.include(metrics.body, "clawfleet_reconciler_queue_depth")
          assert.include(metrics.body, "clawfleet_reconcile_passes_total")
          assert.strictEqual((yield* get(`${server.listenUrl}/api/v1/me`)).status, 401)

          const fleet = yield* Fleet
          yield* fleet.onboardPerson({ person: { id: "ada", email: "ada@example.com", displayName: "Ada" } }).pipe(withActor("test"))
          // Nothing tells the reconciler of a change yet: its periodic resync finds it. Run one now.
          yield* (yield* Reconciler).resyncAll
          const tenants = yield* Tenants
          const phase = tenants.all.pipe(Effect.map((all) => all.find((t) => t.value.name === "ada")?.value.status.phase))
          const ready = yield* phase.pipe(
            Effect.tap((p) => (p === "Ready" ? Effect.void : Effect.sleep("100 millis"))),
            Effect.repeat({ until: (p) => p === "Ready" }),
            Effect.timeout("10 seconds"),
            Effect.orElseSucceed(() => "timed out")
          )
          assert.strictEqual(ready, "Ready", JSON.stringify((yield* tenants.all).map((t) => t.value.status)))
          const scraped = yield* get(`${server.listenUrl}/metrics`)
          assert.match(scraped.body, /clawfleet_reconcile_passes_total\{outcome="Reconciled"\} [1-9]/)
        }).pipe(Effect.provide(Layer.fresh(Server.layer(config, { provider: MemoryProvider.layer() }))))
      }),
    60_000
  )
})

/** The two ways to run the production server: its own script, and the CLI's `start`. */
const ENTRY_POINTS = {
  "bin/server.ts": ["packages/server/src/bin/server.ts"],
  "clawfleet start": ["packages/server/src/cli/main.ts", "start"]
} as const

/** Runs the server through `entry`, collecting what it prints. */
const startBin = (entry: keyof typeof ENTRY_POINTS, args: ReadonlyArray<string>, env: Record<string, string>) => {
  const [script, ...command] = ENTRY_POINTS[entry]
  const child = spawn(process.execPath, ["--conditions=@clawfleet/source", join(repoRoot, script), ...command, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? tmpdir(), ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString()
  })
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString()
  })
  let done = false
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      done = true
      resolve(code)
    })
  )
  const waitFor = async (pattern: RegExp, timeoutMs: number) => {
    const until = Date.now() + timeoutMs
    while (Date.now() < until && !done) {
      const match = stdout.match(pattern)
      if (match !== null) return match
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`no ${pattern} within ${timeoutMs} ms; stdout:\n${stdout}\nstderr:\n${stderr}`)
  }
  return { child, exited, waitFor, output: () => ({ stdout, stderr }) }
}

describe("bin/server.ts", () => {
  it("exits 1 on a bad configuration, naming the bad setting and no secret", async () => {
    const base = await freePortRange(4)
    const bin = startBin("bin/server.ts", ["--config", configFile(base, { publicUrl: "http://clawfleet.example.com" })], {
      CLAWFLEET_KEY_ENCRYPTION_KEY: KEY
    })
    assert.strictEqual(await bin.exited, 1)
    const { stdout, stderr } = bin.output()
    assert.include(stderr, "publicUrl")
    assert.include(stderr, "must be an https URL")
    assert.notInclude(stdout + stderr, SECRET)
    assert.notInclude(stdout + stderr, KEY)
    assert.notInclude(stderr, "    at ", "no stack trace")
  }, 30_000)
})

describe.each(Object.keys(ENTRY_POINTS) as Array<keyof typeof ENTRY_POINTS>)("%s", (entry) => {
  it("logs a JSON start line, answers /readyz and exits 0 soon after SIGTERM: a stop is how a server ends", async () => {
    const base = await freePortRange(4)
    const bin = startBin(entry, ["--config", configFile(base, { provider: { kind: "local" } })], { CLAWFLEET_KEY_ENCRYPTION_KEY: KEY })
    try {
      const [line] = await bin.waitFor(/^\{.*clawfleet started.*\}$/m, 60_000)
      const started = JSON.parse(line) as { annotations: Record<string, unknown> }
      assert.strictEqual(started.annotations.listen, `http://127.0.0.1:${base}`)
      assert.strictEqual(started.annotations.tokenProxy, `http://127.0.0.1:${base + 1}`)
      assert.strictEqual(started.annotations.provider, "local")
      const readyz = await fetch(`http://127.0.0.1:${base}/readyz`)
      assert.strictEqual(readyz.status, 200)
      const sent = Date.now()
      bin.child.kill("SIGTERM")
      assert.strictEqual(await bin.exited, 0)
      assert.isBelow(Date.now() - sent, 5_000)
      assert.notInclude(bin.output().stdout + bin.output().stderr, SECRET)
    } finally {
      bin.child.kill("SIGKILL")
    }
  }, 90_000)
})
