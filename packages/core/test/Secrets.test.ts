import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import { SecretError, Secrets, secretEnvName } from "../src/secrets/Secrets.ts"

const resolve = (layer: Layer.Layer<Secrets>, name: string, key: string) =>
  Effect.gen(function* () {
    return yield* (yield* Secrets).resolve({ name, key })
  }).pipe(Effect.provide(layer))

const withEnv = (env: Record<string, string>, options?: Parameters<typeof Secrets.layerEnv>[0]) =>
  Secrets.layerEnv(options).pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))

describe("Secrets", () => {
  it.effect("layerMemory resolves name/key, a name with slashes included, and fails NotFound otherwise", () =>
    Effect.gen(function* () {
      const layer = Secrets.layerMemory({ "github/token": "ghp_1", "tools/linear/api-key": "lin_2" })
      assert.strictEqual(Redacted.value(yield* resolve(layer, "github", "token")), "ghp_1")
      assert.strictEqual(Redacted.value(yield* resolve(layer, "tools/linear", "api-key")), "lin_2")
      const error = yield* Effect.flip(resolve(layer, "github", "other"))
      assert.strictEqual(error.reason._tag, "NotFound")
      assert.isFalse(error.isRetryable)
      assert.strictEqual(error.message, 'secret "github" has no key "other"')
    })
  )

  it("names environment variables upper-case, with every other character as _", () => {
    assert.strictEqual(secretEnvName({ name: "github", key: "token" }), "CLAWFLEET_SECRET_GITHUB_TOKEN")
    assert.strictEqual(secretEnvName({ name: "mcp/linear.app", key: "api-key" }), "CLAWFLEET_SECRET_MCP_LINEAR_APP_API_KEY")
    assert.strictEqual(secretEnvName({ name: "a", key: "b" }, "ACME_"), "ACME_A_B")
  })

  it.effect("layerEnv reads the variable through the ConfigProvider, under the default or a given prefix", () =>
    Effect.gen(function* () {
      const env = { CLAWFLEET_SECRET_MCP_LINEAR_APP_API_KEY: "lin_3", ACME_GITHUB_TOKEN: "ghp_4", CLAWFLEET_SECRET_EMPTY_KEY: "" }
      const value = yield* resolve(withEnv(env), "mcp/linear.app", "api-key")
      assert.strictEqual(Redacted.value(value), "lin_3")
      assert.notInclude(String(value), "lin_3", "the value stays redacted")
      assert.strictEqual(Redacted.value(yield* resolve(withEnv(env, { prefix: "ACME_" }), "github", "token")), "ghp_4")
      const missing = yield* Effect.flip(resolve(withEnv(env), "github", "token"))
      assert.strictEqual(missing.reason._tag, "NotFound")
      const empty = yield* Effect.flip(resolve(withEnv(env), "empty", "key"))
      assert.strictEqual(empty.reason._tag, "NotFound", "an empty variable counts as missing")
    })
  )

  it.effect("layerEnv reports a source that cannot be read as Unavailable and retryable", () =>
    Effect.gen(function* () {
      const broken = ConfigProvider.make(() => Effect.fail(new ConfigProvider.SourceError({ message: "vault sealed" })))
      const layer = Secrets.layerEnv().pipe(Layer.provide(ConfigProvider.layer(broken)))
      const error = yield* Effect.flip(resolve(layer, "github", "token"))
      assert.strictEqual(error.reason._tag, "Unavailable")
      assert.isTrue(error.isRetryable)
      assert.isFalse(SecretError.unavailable("no permission", false).isRetryable)
    })
  )
})
