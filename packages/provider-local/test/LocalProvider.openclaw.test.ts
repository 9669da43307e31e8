import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { RuntimeProvider } from "@clawfleet/core"
import { testRuntime } from "@clawfleet/core/testing"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
// The one installer of the pinned OpenClaw, shared with core's config test.
import { ensureOpenClaw } from "../../core/test/support/openclaw.ts"
import * as Local from "../src/index.ts"
import { isReady, observeUntil, tempDataDir } from "./support/local.ts"

// The real gateway of the pinned version: 10–20 s and about 1 GB to start. It is installed once per
// machine into the cache the OpenClaw config test shares (about 35 s the first time), unless
// CLAWFLEET_OPENCLAW_BIN points at an installed OpenClaw (its binary or `openclaw.mjs`).
let openclaw = process.env.CLAWFLEET_OPENCLAW_BIN

describe("the real OpenClaw gateway", () => {
  const dataDir = tempDataDir("openclaw")
  beforeAll(async () => {
    openclaw ??= (await ensureOpenClaw(testRuntime("openclaw-real").openclaw.version)).entry
  }, 300_000)
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  it.live(
    "starts on the provider's port with its token, Ready from /readyz; suspend stops it, resume finds its state, destroy removes it",
    () =>
      Effect.gen(function* () {
        const provider = yield* RuntimeProvider
        const rt = testRuntime("openclaw-real")
        yield* provider.apply(rt)
        const seen = yield* observeUntil("openclaw-real", isReady, "ready", 90_000)
        const answer = yield* Effect.promise(() => fetch(`${seen.endpoint}/readyz`).then((r) => r.json() as Promise<{ ready?: boolean }>))
        assert.isTrue(answer.ready)
        // Something the tenant keeps: it must outlive a suspend.
        const tenantDir = join(dataDir, "tenants", "openclaw-real")
        writeFileSync(join(tenantDir, "home", "kept.txt"), "state")
        yield* provider.suspend(rt)
        yield* observeUntil("openclaw-real", (o) => !o.workload.ready, "stopped", 15_000)
        assert.isFalse(
          yield* Effect.promise(() =>
            fetch(`${seen.endpoint}/readyz`).then(
              () => true,
              () => false
            )
          ),
          "nothing listens once suspended"
        )
        yield* provider.apply(rt)
        yield* observeUntil("openclaw-real", isReady, "ready again", 90_000)
        assert.strictEqual(readFileSync(join(tenantDir, "home", "kept.txt"), "utf8"), "state")
        yield* provider.destroy("openclaw-real", { data: "delete" })
        assert.isFalse(existsSync(tenantDir), "destroy removes the tenant's directory")
      }).pipe(
        // The layer is made when the test runs: the install in beforeAll decides the command.
        (program) => Effect.suspend(() => Effect.provide(program, Local.layer({ dataDir, gateway: { openclaw: openclaw! } })))
      ),
    { timeout: 180_000 }
  )
})
