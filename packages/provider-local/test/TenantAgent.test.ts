import { readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import { ProviderError, RuntimeProvider, Secrets } from "@clawfleet/core"
import { testRuntime } from "@clawfleet/core/testing"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Local from "../src/index.ts"
import { fastConfig, isReady, observeUntil, tempDataDir, tenantDir } from "./support/local.ts"

/**
 * With `agent` configured, each tenant's endpoint is its tenant agent, in front of the gateway:
 * nobody gets through without a pairing, the agent keeps its port across restarts, and a missing
 * tenant key is an error that names what to configure, not a silent gateway without a door.
 */

const dataDir = tempDataDir("agent")
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const agent = { controlPlaneUrl: "http://127.0.0.1:9", issuer: "http://127.0.0.1:9" }
const withAgent = Local.layer(fastConfig(dataDir, { agent })).pipe(
  Layer.provide(Secrets.layerMemory({ "clawfleet-tenant-ada/agent-key": "cfk_test-agent-key" }))
)

const status = (url: string) => Effect.promise(() => fetch(url, { redirect: "manual" }).then((r) => r.status))

describe("the tenant agent in front of local gateways", () => {
  it.live("serves the tenant at its agent, which refuses anyone unpaired, on a port kept across restarts", () =>
    Effect.gen(function* () {
      const provider = yield* RuntimeProvider
      const ada = testRuntime("ada")
      yield* provider.apply(ada)
      const seen = yield* observeUntil("ada", isReady, "ready")
      const agentPort = Number(readFileSync(join(tenantDir(dataDir, "ada"), "clawfleet", "agent-port"), "utf8"))
      const gatewayPort = Number(readFileSync(join(tenantDir(dataDir, "ada"), "clawfleet", "gateway-port"), "utf8"))
      assert.strictEqual(seen.endpoint, `http://127.0.0.1:${agentPort}`)
      assert.notStrictEqual(agentPort, gatewayPort)
      assert.strictEqual(yield* status(`${seen.endpoint}/clawfleet/health`), 200)
      assert.strictEqual(yield* status(`${seen.endpoint}/readyz`), 401, "no pairing, no way in")
      assert.strictEqual(yield* status(`${seen.endpoint}/clawfleet/pair?token=forged`), 403)

      // Suspended, the agent goes with its gateway; resumed, it is back where links point.
      yield* provider.suspend(ada)
      const stopped = yield* Effect.promise(() =>
        fetch(`${seen.endpoint}/clawfleet/health`).then(
          () => false,
          () => true
        )
      )
      assert.isTrue(stopped, "nothing listens at the agent while suspended")
      yield* provider.apply(ada)
      const again = yield* observeUntil("ada", isReady, "ready again")
      assert.strictEqual(again.endpoint, seen.endpoint)
      yield* provider.destroy("ada", { data: "delete" })
    }).pipe(Effect.provide(withAgent))
  )

  it.live("fails with a ProviderError naming the missing key when Secrets cannot give the tenant's agent key", () =>
    Effect.gen(function* () {
      const provider = yield* RuntimeProvider
      const error = yield* Effect.flip(provider.apply(testRuntime("bob")))
      assert.instanceOf(error, ProviderError)
      assert.include(error.message, "clawfleet-tenant-bob")
    }).pipe(Effect.provide(withAgent))
  )
})
