import {
  Clawfleet,
  type EffectiveAccess,
  Fleet,
  OpenClawConfig,
  type OpenClawConfigOptions,
  type OpenClawJson,
  openClawSchemas,
  RuntimeCompiler,
  supportedOpenClawVersions,
  type TenantSpec,
  unsupportedKeywords,
  validateJson
} from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { access, fakeSecretValues, matrix, platform, secretEnv, spec } from "./support/openclaw.ts"

const render = (input: { readonly spec: TenantSpec; readonly access: EffectiveAccess }) =>
  OpenClawConfig.use((c) => c.render({ tenant: "ada", env: secretEnv, spec: input.spec, access: input.access }))

const withRenderer = (options: OpenClawConfigOptions = platform) => Effect.provide(OpenClawConfig.layer(options))

const schema = openClawSchemas.get("2026.9.6")!

/** Every string in the config, with the key it sits under. */
const strings = (value: unknown, key = ""): Array<readonly [string, string]> =>
  typeof value === "string"
    ? [[key, value]]
    : Array.isArray(value)
      ? value.flatMap((v) => strings(v, key))
      : typeof value === "object" && value !== null
        ? Object.entries(value).flatMap(([k, v]) => strings(v, k))
        : []

describe("OpenClawConfig", () => {
  for (const { name, spec, access } of matrix) {
    it.effect(`renders a config that fits the 2026.9.6 snapshot: ${name}`, () =>
      Effect.gen(function* () {
        const config = yield* render({ spec, access })
        assert.deepStrictEqual(validateJson(schema, config), [])
        assert.deepStrictEqual(config.gateway, {
          mode: "local",
          bind: "loopback",
          port: 18789,
          auth: { mode: "token", token: { source: "env", provider: "default", id: "CLAWFLEET_GATEWAY_TOKEN" } }
        })
        assert.deepStrictEqual(
          config.models.providers.clawfleet?.models.map((m) => m.id),
          [...access.models],
          "exactly the granted models"
        )
      }).pipe(withRenderer())
    )
  }

  it.effect("renders every key for a tenant with everything", () =>
    Effect.gen(function* () {
      const everything = matrix.find((m) => m.name.startsWith("everything"))!
      const config = yield* render(everything)
      const ref = (id: string) => ({ source: "env", provider: "default", id }) as const
      const broker = { transport: "streamable-http", headers: { Authorization: `Bearer \${CLAWFLEET_TOOL_TOKEN}` } } as const
      assert.deepStrictEqual(config, {
        gateway: { mode: "local", bind: "loopback", port: 18789, auth: { mode: "token", token: ref("CLAWFLEET_GATEWAY_TOKEN") } },
        models: {
          mode: "replace",
          providers: {
            clawfleet: {
              baseUrl: "http://token-proxy.clawfleet-system.svc:8080/v1",
              api: "openai-completions",
              apiKey: ref("CLAWFLEET_MODEL_KEY"),
              models: [
                { id: "gpt-4.1", name: "gpt-4.1" },
                { id: "o4-mini", name: "o4-mini" }
              ]
            }
          }
        },
        agents: {
          defaults: { model: { primary: "clawfleet/gpt-4.1" }, modelPolicy: { allow: ["clawfleet/gpt-4.1", "clawfleet/o4-mini"] } }
        },
        skills: { load: { extraDirs: [`\${OPENCLAW_STATE_DIR}/clawfleet/skills`] } },
        mcp: {
          servers: {
            github: { url: "http://tool-broker.clawfleet-system.svc:8081/mcp/github", ...broker },
            knowledge_handbook: { url: "http://tool-broker.clawfleet-system.svc:8081/mcp/knowledge/handbook", ...broker }
          }
        },
        // The key by reference only: the config is readable by the gateway, the value is not in it.
        proxy: { proxyUrl: `http://ada:\${CLAWFLEET_MODEL_KEY}@egress-proxy.clawfleet-system.svc:3128` },
        channels: {
          telegram: {
            enabled: true,
            botToken: ref("CLAWFLEET_TELEGRAM_BOT_TOKEN"),
            dmPolicy: "allowlist",
            allowFrom: ["123456789"],
            groupPolicy: "disabled"
          },
          slack: {
            enabled: true,
            mode: "socket",
            botToken: ref("CLAWFLEET_SLACK_BOT_TOKEN"),
            appToken: ref("CLAWFLEET_SLACK_APP_TOKEN"),
            dmPolicy: "pairing",
            groupPolicy: "disabled"
          }
        }
      } satisfies OpenClawJson)
    }).pipe(withRenderer())
  )

  it.effect("never puts a secret value in the config, even with the values in the environment", () =>
    Effect.gen(function* () {
      const saved = { ...process.env }
      Object.assign(process.env, fakeSecretValues)
      const configs = yield* Effect.forEach(matrix, render).pipe(Effect.ensuring(Effect.sync(() => (process.env = saved))))
      const json = JSON.stringify(configs)
      for (const value of Object.values(fakeSecretValues)) assert.notInclude(json, value)
      for (const value of ["FAKE-SECRET", "xoxb-", "xapp-", "ada-telegram", "ada-slack"]) assert.notInclude(json, value)
      // Whatever sits under a credential-like key is a reference: an env SecretRef or `${VAR}`.
      for (const [key, value] of strings(configs)) {
        if (/token|key|secret|password|authorization/i.test(key) && key !== "source" && key !== "provider" && key !== "id") {
          assert.match(value, /^(?:Bearer )?\$\{[A-Z][A-Z0-9_]*\}$/, `${key} holds a literal`)
        }
      }
      const refs = JSON.stringify(configs).match(/\{"source":"env","provider":"default","id":"[A-Z_]+"\}/g) ?? []
      assert.isAbove(refs.length, 0)
    }).pipe(withRenderer())
  )

  it.effect("budget, idle policy and suspension do not change the config", () =>
    Effect.gen(function* () {
      const plain = yield* render({ spec: spec(), access: access() })
      const other = yield* render({
        spec: spec({ budget: { monthlyUsd: 10 }, idle: { suspendAfterMinutes: 15 }, suspended: true }),
        access: access({ egress: [{ pattern: "*.github.com", except: [] }], skills: ["pdf"] })
      })
      assert.deepStrictEqual(other, plain)
    }).pipe(withRenderer())
  )

  it.effect("uses the first granted model as the default when the spec names none, and no agent defaults without models", () =>
    Effect.gen(function* () {
      const several = yield* render({ spec: spec(), access: access({ models: ["claude-sonnet-4-5", "gpt-4.1"] }) })
      assert.deepStrictEqual(several.agents?.defaults.model, { primary: "clawfleet/claude-sonnet-4-5" })
      const none = yield* render({ spec: spec(), access: access({ models: [] }) })
      assert.isUndefined(none.agents)
      assert.deepStrictEqual(none.models.providers.clawfleet?.models, [])
      assert.isUndefined(none.mcp)
      assert.isUndefined(none.channels)
    }).pipe(withRenderer())
  )

  it.effect("fails with a typed error naming the supported versions for an unknown OpenClaw version", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(render({ spec: spec({ openclaw: { version: "2026.1.1" } }), access: access() }))
      assert.strictEqual(error._tag, "OpenClawConfigError")
      assert.strictEqual(error.reason, "UnsupportedVersion")
      assert.isFalse(error.isRetryable)
      assert.include(error.message, "2026.1.1")
      assert.include(error.message, "2026.9.6")
      assert.deepStrictEqual(error.supported, supportedOpenClawVersions)
    }).pipe(withRenderer())
  )

  it.effect("refuses a default model that is not granted", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(render({ spec: spec({ models: { default: "gpt-5-pro" } }), access: access() }))
      assert.strictEqual(error.reason, "InvalidSpec")
      assert.isFalse(error.isRetryable)
      assert.include(error.message, `models.default "gpt-5-pro" is not granted`)
      assert.include(error.message, "granted models: gpt-4.1")
      const none = yield* Effect.flip(render({ spec: spec({ models: { default: "gpt-4.1" } }), access: access({ models: [] }) }))
      assert.include(none.message, "no models are granted")
    }).pipe(withRenderer())
  )

  it.effect("refuses Telegram senders that are not numeric user ids, and bad env names", () =>
    Effect.gen(function* () {
      const botToken = { name: "t", key: "k" }
      for (const sender of ["*", "@ada"]) {
        const error = yield* Effect.flip(
          render({ spec: spec({ channels: { telegram: { botToken, allowFrom: [sender] } } }), access: access() })
        )
        assert.strictEqual(error.reason, "InvalidSpec")
        assert.include(error.message, JSON.stringify(sender))
      }
      const env = { ...secretEnv, toolToken: "tool token" }
      const error = yield* Effect.flip(OpenClawConfig.use((c) => c.render({ tenant: "ada", spec: spec(), access: access(), env })))
      assert.include(error.message, "env.toolToken")
    }).pipe(withRenderer())
  )

  it.effect("refuses to return a config that does not fit the version's schema", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(render({ spec: spec(), access: access({ models: [""] }) }))
      assert.strictEqual(error.reason, "Rejected")
      assert.deepStrictEqual(error.issues?.[0], {
        path: "models.providers.clawfleet.models.0.id",
        message: "must be at least 1 characters"
      })
    }).pipe(withRenderer())
  )

  it.effect("refuses platform options it cannot use, before rendering anything", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(
          OpenClawConfig.layer({ ...platform, egressProxyUrl: "http://user:pw@egress:3128", toolBrokerUrl: "broker", gatewayPort: 70000 })
        ).pipe(Effect.scoped)
      )
      assert.strictEqual(error.reason, "InvalidOptions")
      assert.include(error.message, "egressProxyUrl must not carry credentials")
      assert.include(error.message, "toolBrokerUrl must be an absolute URL")
      assert.include(error.message, "gatewayPort")
    })
  )

  it.effect("takes the port and skills directory from the options and trims trailing slashes", () =>
    Effect.gen(function* () {
      const config = yield* render({ spec: spec(), access: access({ tools: ["github"] }) })
      assert.strictEqual(config.gateway.port, 19001)
      assert.deepStrictEqual(config.skills.load.extraDirs, ["/data/skills"])
      assert.strictEqual(config.models.providers.clawfleet?.baseUrl, "http://proxy/v1")
      assert.strictEqual(config.mcp?.servers.github?.url, "http://broker/mcp/github")
    }).pipe(
      withRenderer({
        ...platform,
        tokenProxyUrl: "http://proxy/v1/",
        toolBrokerUrl: "http://broker/",
        gatewayPort: 19001,
        skillsDir: "/data/skills"
      })
    )
  )

  it.effect("is the renderer of the runtime compiler", () =>
    Effect.gen(function* () {
      const fleet = yield* Fleet
      yield* fleet.onboardPerson({ person: { id: "ada", email: "ada@example.com", displayName: "Ada" } })
      yield* fleet.putCatalogItem("model", { name: "gpt-4.1", upstream: "openai" })
      yield* fleet.grant({ subject: { kind: "org" }, resource: { kind: "model", name: "gpt-4.1" }, effect: "allow" })
      const tenant = yield* fleet.getTenant("ada")
      const runtime = yield* RuntimeCompiler.use((c) => c.compile(tenant.value))
      const config = runtime.openclaw.config as OpenClawJson
      assert.deepStrictEqual(config.agents?.defaults.model, { primary: "clawfleet/gpt-4.1" })
      assert.deepStrictEqual(
        runtime.secrets.map((s) => s.env),
        ["CLAWFLEET_GATEWAY_TOKEN", "CLAWFLEET_MODEL_KEY", "CLAWFLEET_TOOL_TOKEN"]
      )
    }).pipe(
      Effect.provide(
        OpenClawConfig.runtimeCompiler.pipe(Layer.provideMerge(OpenClawConfig.layer(platform)), Layer.provideMerge(Clawfleet.layerMemory))
      )
    )
  )
})

describe("the schema snapshot checker", () => {
  it("uses only keywords it enforces, for every registered version", () => {
    for (const [version, s] of openClawSchemas) assert.deepStrictEqual(unsupportedKeywords(s), [], version)
  })

  it("refuses what OpenClaw refuses: unknown keys, SecretRefs in MCP headers, a ref without provider", () => {
    const base = { gateway: { mode: "local", auth: { mode: "token", token: { source: "env", provider: "default", id: "T" } } } }
    assert.deepStrictEqual(validateJson(schema, base), [])
    assert.deepStrictEqual(validateJson(schema, { ...base, bogusKey: 1 }), [{ path: "", message: 'Unrecognized key: "bogusKey"' }])
    const header = {
      mcp: { servers: { x: { url: "http://b/mcp/x", headers: { Authorization: { source: "env", provider: "default", id: "T" } } } } }
    }
    assert.deepStrictEqual(
      validateJson(schema, header).map((i) => i.path),
      ["mcp.servers.x.headers.Authorization"]
    )
    const noProvider = { gateway: { auth: { token: { source: "env", id: "T" } } } }
    assert.isNotEmpty(validateJson(schema, noProvider))
    assert.isNotEmpty(validateJson(schema, { proxy: { proxyUrl: "not a url" } }))
    assert.isNotEmpty(validateJson(schema, { gateway: { port: 0 } }))
  })
})
