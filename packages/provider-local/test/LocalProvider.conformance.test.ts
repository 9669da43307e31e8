import { rmSync } from "node:fs"
import { chmod, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { providerConformance } from "@clawfleet/core/testing"
import { afterAll } from "@effect/vitest"
import { Effect } from "effect"
import * as Local from "../src/index.ts"
import { fastConfig, tempDataDir, tenantDir } from "./support/local.ts"

const dataDir = tempDataDir("conformance")
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

providerConformance("local with the stand-in gateway", Local.layer(fastConfig(dataDir)), {
  // Loosened permissions and a config edited behind the provider's back: both must be put right.
  drift: (tenant) =>
    Effect.promise(async () => {
      await chmod(tenantDir(dataDir, tenant), 0o755)
      await writeFile(join(tenantDir(dataDir, tenant), "openclaw.json"), "{}\n")
    }),
  readyWithinMs: 10_000
})
