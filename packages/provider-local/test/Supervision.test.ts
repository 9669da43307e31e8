import { existsSync, rmSync } from "node:fs"
import { join } from "node:path"
import { RuntimeProvider } from "@clawfleet/core"
import { testRuntime } from "@clawfleet/core/testing"
import { afterAll, assert, describe, it, layer } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"
import * as Local from "../src/index.ts"
import { backoffDelay } from "../src/Supervisor.ts"
import { alive, boots, callGateway, fastConfig, isReady, observe, observeUntil, standInFor, tempDataDir, whoami } from "./support/local.ts"

const dataDir = tempDataDir("supervision")
const deafDir = tempDataDir("sigterm")
const steadyDir = tempDataDir("steady")
const closeDir = tempDataDir("close")
afterAll(() => {
  for (const dir of [dataDir, deafDir, steadyDir, closeDir]) rmSync(dir, { recursive: true, force: true })
})

const deafFlags = (tenants: ReadonlyArray<string>) =>
  Object.fromEntries(tenants.filter((t) => t.endsWith("-deaf")).map((t) => [t, ["--ignore-sigterm"]]))

const flags = {
  looping: ["--exit-at-start", "7"],
  html: ["--readyz-html"],
  slow: ["--ready-after-ms", "600000"]
}

describe("backoff", () => {
  it("doubles from the initial delay and stops at the cap", () => {
    const timing = { initialDelayMs: 200, maxDelayMs: 1_000 }
    assert.deepStrictEqual(
      [1, 2, 3, 4, 10].map((n) => backoffDelay(n, timing)),
      [200, 400, 800, 1_000, 1_000]
    )
  })
})

describe("supervision", () => {
  layer(Local.layer(fastConfig(dataDir, { gateway: { command: standInFor(flags) } })), { excludeTestServices: true, timeout: 30_000 })(
    (it) => {
      it.effect("restarts a crashed gateway with growing backoff, on the same port, and it is Ready again", () =>
        Effect.gen(function* () {
          const provider = yield* RuntimeProvider
          yield* provider.apply(testRuntime("crashy"))
          const first = yield* observeUntil("crashy", isReady, "ready")
          const before = yield* whoami(dataDir, "crashy", first)

          yield* callGateway(dataDir, "crashy", first, "/crash?code=3", "POST")
          const crashed = yield* observeUntil("crashy", (o) => o.workload.reason === "CrashLoopBackOff", "crash seen")
          const crashedAt = Date.now()
          assert.include(crashed.workload.message, "exited with code 3")
          assert.include(crashed.workload.message, "(1 in a row)")
          assert.include(crashed.workload.message, "stand-in: crashing on request with code 3")
          const again = yield* observeUntil("crashy", isReady, "ready after the crash")
          assert.isAtLeast(Date.now() - crashedAt, 150, "waited for the backoff")
          assert.strictEqual(again.endpoint, first.endpoint, "same port")
          assert.include(again.workload.message, "restarted 1 time")
          const after = yield* whoami(dataDir, "crashy", again)
          assert.notStrictEqual(after.pid, before.pid)
          assert.isFalse(alive(before.pid))

          // A second crash soon after the first waits twice as long.
          yield* callGateway(dataDir, "crashy", again, "/crash?code=4", "POST")
          const twice = yield* observeUntil("crashy", (o) => o.workload.reason === "CrashLoopBackOff", "second crash seen")
          assert.include(twice.workload.message, "(2 in a row)")
          assert.match(twice.workload.message, /next start in (3\d\d|400) ms/)
          yield* observeUntil("crashy", isReady, "ready after the second crash")
          assert.strictEqual(boots(dataDir, "crashy").length, 3)
        })
      )

      it.effect("reports a crash loop with the exit code and only the last lines of stderr", () =>
        Effect.gen(function* () {
          const provider = yield* RuntimeProvider
          yield* provider.apply(testRuntime("looping"))
          const seen = yield* observeUntil("looping", (o) => o.workload.message.includes("(3 in a row)"), "three crashes in a row")
          assert.isFalse(seen.workload.ready)
          assert.strictEqual(seen.workload.reason, "CrashLoopBackOff")
          assert.include(seen.workload.message, "exited with code 7")
          assert.include(seen.workload.message, "stand-in: giving up")
          assert.include(seen.workload.message, "line 30")
          assert.notInclude(seen.workload.message, "line 26", "only the last five lines")
          assert.isBelow(seen.workload.message.length, 1_500)
          assert.isTrue(seen.storage.ready && seen.identity.ready, "a crash loop leaves the rest alone")
          yield* provider.destroy("looping", { data: "delete" })
        })
      )

      it.effect("reads the JSON body of /readyz: neither an HTML 200 nor ready:false is Ready", () =>
        Effect.gen(function* () {
          const provider = yield* RuntimeProvider
          yield* provider.apply(testRuntime("html"))
          yield* provider.apply(testRuntime("slow"))
          const html = yield* observeUntil("html", (o) => o.workload.message.includes("JSON"), "probe answered")
          assert.isFalse(html.workload.ready)
          assert.strictEqual(html.workload.reason, "Starting")
          assert.include(html.workload.message, "answered 200 without a JSON readiness body")
          const slow = yield* observeUntil("slow", (o) => o.workload.message.includes("failing"), "probe answered")
          assert.isFalse(slow.workload.ready)
          assert.include(slow.workload.message, "not ready (503): failing startup")
          yield* Effect.sleep("300 millis")
          assert.isFalse((yield* observe("html")).workload.ready, "still not ready")
        })
      )
    }
  )

  // Outside the shared layer: these need a provider configured differently. `live`: real time.
  it.live("kills a gateway that ignores SIGTERM once the stop timeout has passed", () =>
    Effect.gen(function* () {
      const provider = yield* RuntimeProvider
      const deaf = testRuntime("deaf")
      const polite = testRuntime("polite")
      yield* provider.apply(deaf)
      yield* provider.apply(polite)
      const d = yield* whoami(deafDir, "deaf", yield* observeUntil("deaf", isReady, "ready"))
      const p = yield* whoami(deafDir, "polite", yield* observeUntil("polite", isReady, "ready"))

      const politeStart = Date.now()
      yield* provider.suspend(polite)
      assert.isBelow(Date.now() - politeStart, 500, "a gateway that honours SIGTERM stops at once")
      assert.isFalse(alive(p.pid))

      const deafStart = Date.now()
      yield* provider.suspend(deaf)
      const took = Date.now() - deafStart
      assert.isAtLeast(took, 600, "waited the stop timeout")
      assert.isBelow(took, 3_000)
      assert.isFalse(alive(d.pid), "SIGKILL ended it")
      assert.strictEqual((yield* observe("deaf")).workload.reason, "NotRunning")
    }).pipe(
      Effect.provide(
        Local.layer(fastConfig(deafDir, { stopTimeoutMs: 600, gateway: { command: standInFor({ deaf: ["--ignore-sigterm"] }) } }))
      )
    )
  )

  it.live("counts a crash after a stable run as the first in a row again", () =>
    Effect.gen(function* () {
      const provider = yield* RuntimeProvider
      yield* provider.apply(testRuntime("steady"))
      for (let round = 0; round < 2; round++) {
        const up = yield* observeUntil("steady", isReady, "ready")
        yield* Effect.sleep("350 millis")
        yield* callGateway(steadyDir, "steady", up, "/crash?code=1", "POST")
        const crashed = yield* observeUntil("steady", (o) => o.workload.reason === "CrashLoopBackOff", "crash seen")
        assert.include(crashed.workload.message, "(1 in a row)")
      }
    }).pipe(Effect.provide(Local.layer(fastConfig(steadyDir, { restart: { initialDelayMs: 100, maxDelayMs: 1_000, stableAfterMs: 300 } }))))
  )

  it.live("stops every gateway at once when the layer closes, deaf ones after a single stop timeout", () =>
    Effect.gen(function* () {
      const tenants = ["close-a-deaf", "close-b-deaf", "close-c-deaf", "close-d"]
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        Local.layer(fastConfig(closeDir, { stopTimeoutMs: 500, gateway: { command: standInFor(deafFlags(tenants)) } })),
        scope
      )
      const pids = yield* Effect.gen(function* () {
        const provider = yield* RuntimeProvider
        for (const t of tenants) yield* provider.apply(testRuntime(t))
        return yield* Effect.forEach(tenants, (t) =>
          Effect.flatMap(observeUntil(t, isReady, "ready"), (o) => Effect.map(whoami(closeDir, t, o), (w) => w.pid))
        )
      }).pipe(Effect.provide(context))
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      const took = Date.now() - started
      assert.isAtLeast(took, 500)
      assert.isBelow(took, 1_400, "one stop timeout, not one per gateway")
      assert.deepStrictEqual(pids.filter(alive), [])
      assert.isFalse(existsSync(join(closeDir, "provider.lock")), "the data directory is free again")
    })
  )
})
