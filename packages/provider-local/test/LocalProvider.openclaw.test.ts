import { rmSync } from "node:fs"
import { RuntimeProvider } from "@clawfleet/core"
import { testRuntime } from "@clawfleet/core/testing"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Local from "../src/index.ts"
import { isReady, observeUntil, tempDataDir } from "./support/local.ts"

// Opt-in: a real gateway takes 10–20 s and about 1 GB to start. Point this at an installed
// OpenClaw (`node_modules/.bin/openclaw` or its `openclaw.mjs`) to run it.
const openclaw = process.env.CLAWFLEET_OPENCLAW_BIN

describe.skipIf(openclaw === undefined)("the real OpenClaw gateway (set CLAWFLEET_OPENCLAW_BIN to run)", () => {
  const dataDir = openclaw === undefined ? "" : tempDataDir("openclaw")
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

  it.live(
    "starts on the provider's port with its token, reports Ready from /readyz, and stops on suspend",
    () =>
      Effect.gen(function* () {
        const provider = yield* RuntimeProvider
        const rt = testRuntime("openclaw-real")
        yield* provider.apply(rt)
        const seen = yield* observeUntil("openclaw-real", isReady, "ready", 90_000)
        const answer = yield* Effect.promise(() => fetch(`${seen.endpoint}/readyz`).then((r) => r.json() as Promise<{ ready?: boolean }>))
        assert.isTrue(answer.ready)
        yield* provider.suspend(rt)
        yield* observeUntil("openclaw-real", (o) => !o.workload.ready, "stopped", 15_000)
        yield* provider.destroy("openclaw-real", { data: "delete" })
      }).pipe(Effect.provide(Local.layer({ dataDir, gateway: { openclaw: openclaw ?? "openclaw" } }))),
    { timeout: 120_000 }
  )
})
