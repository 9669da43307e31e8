import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { conditions: ["@clawfleet/source"] },
  ssr: { resolve: { conditions: ["@clawfleet/source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts"],
    // PGlite instances take ~1 GB each: keep the number of test files running at once small.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
