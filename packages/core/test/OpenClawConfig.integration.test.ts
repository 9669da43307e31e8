import { availableParallelism } from "node:os"
import { OpenClawConfig, openClawSchemas } from "@clawfleet/core"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  emittedShape,
  ensureOpenClaw,
  extractSchemaSubset,
  fakeSecretValues,
  matrix,
  type OpenClawInstall,
  openClawSchema,
  platform,
  secretEnv,
  type ValidateResult,
  validateWithOpenClaw
} from "./support/openclaw.ts"

// The real OpenClaw of the pinned version, installed into a cache outside the repo on first use
// (about 30-60 s, 650 MB). Never skipped: an install that fails fails this file with npm's output.
const version = "2026.9.6"
let install: OpenClawInstall

// One `openclaw config validate` costs about 1.5 s of CPU and the CLI takes one config at a
// time, so run as many as there are cores, no more.
const concurrency = Math.max(1, Math.min(4, availableParallelism()))

const validateAll = (configs: ReadonlyArray<unknown>, env: Record<string, string>) =>
  Effect.runPromise(
    Effect.forEach(configs, (config) => Effect.promise(() => validateWithOpenClaw(install, config, env)), { concurrency })
  ) as Promise<ReadonlyArray<ValidateResult>>

describe(`OpenClaw ${version}`, () => {
  beforeAll(async () => {
    install = await ensureOpenClaw(version)
  }, 600_000)

  it("the schema snapshot is exactly the real schema's part for the keys we emit", async () => {
    const extracted = extractSchemaSubset(await openClawSchema(install), emittedShape)
    assert.deepStrictEqual(
      extracted,
      JSON.parse(JSON.stringify(openClawSchemas.get(version))),
      "regenerate src/openclaw/versions for this version from `openclaw config schema` with extractSchemaSubset"
    )
  }, 60_000)

  it("accepts every rendered config of the matrix, without a warning", async () => {
    const configs = await Effect.runPromise(
      Effect.forEach(matrix, ({ spec, access }) =>
        OpenClawConfig.use((c) => c.render({ tenant: "ada", spec, access, env: secretEnv }))
      ).pipe(Effect.provide(OpenClawConfig.layer(platform)))
    )
    // The secrets are set as the workload would set them: with them missing OpenClaw only warns
    // about the `${VAR}` in MCP headers, which would hide a real warning.
    const results = await validateAll(configs, fakeSecretValues)
    assert.deepStrictEqual(
      results.map((r, i) => ({ tenant: matrix[i]!.name, ...r })),
      matrix.map(({ name }) => ({ tenant: name, valid: true, issues: [], warnings: [] }))
    )
  }, 180_000)

  it("refuses what the snapshot refuses: a SecretRef as an MCP header, and an unknown key", async () => {
    const [config] = await Effect.runPromise(
      Effect.forEach(matrix.slice(-1), ({ spec, access }) =>
        OpenClawConfig.use((c) => c.render({ tenant: "ada", spec, access, env: secretEnv }))
      ).pipe(Effect.provide(OpenClawConfig.layer(platform)))
    )
    const ref = { source: "env", provider: "default", id: "CLAWFLEET_TOOL_TOKEN" }
    const headerRef = { ...config, mcp: { servers: { github: { url: "http://broker/mcp/github", headers: { Authorization: ref } } } } }
    const unknown = { ...config, gateway: { ...config!.gateway, bogusKey: true } }
    const [a, b] = await validateAll([headerRef, unknown], fakeSecretValues)
    assert.isFalse(a!.valid)
    assert.deepStrictEqual(
      a!.issues.map((i) => i.path),
      ["mcp.servers.github.headers.Authorization"]
    )
    assert.isFalse(b!.valid)
    assert.deepStrictEqual(b!.issues, [{ path: "gateway", message: 'Unrecognized key: "bogusKey"' }])
  }, 120_000)
})
