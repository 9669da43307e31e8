import { Context, Effect, Layer, Schema } from "effect"
import type { TenantSpec } from "../domain/Tenant.ts"
import { FieldIssue } from "../Errors.ts"
import type { EffectiveAccess } from "../grants/Grants.ts"
import { CompileError, RuntimeCompiler } from "../reconciler/RuntimeCompiler.ts"
import { validateJson } from "./JsonSchema.ts"
import { openClawSchemas, supportedOpenClawVersions } from "./versions/index.ts"

export const OpenClawConfigErrorReason = Schema.Literals(["UnsupportedVersion", "InvalidSpec", "InvalidOptions", "Rejected"])
export type OpenClawConfigErrorReason = typeof OpenClawConfigErrorReason.Type

/**
 * A config that cannot be rendered: a version clawfleet has no schema for, a spec that asks for
 * something its access does not allow, platform options that are not usable, or (a bug, or a
 * value OpenClaw would refuse) a rendered config that does not fit the version's schema. None of
 * these passes by trying again.
 */
export class OpenClawConfigError extends Schema.TaggedError<OpenClawConfigError>()("OpenClawConfigError", {
  reason: OpenClawConfigErrorReason,
  detail: Schema.String,
  tenant: Schema.optionalKey(Schema.String),
  version: Schema.optionalKey(Schema.String),
  /** For UnsupportedVersion: the versions that are. */
  supported: Schema.optionalKey(Schema.Array(Schema.String)),
  /** For Rejected: every place the config does not fit the schema. */
  issues: Schema.optionalKey(Schema.Array(FieldIssue))
}) {
  override get message() {
    return `${this.tenant === undefined ? "" : `tenant "${this.tenant}": `}${this.reason}: ${this.detail}`
  }
  get isRetryable(): boolean {
    return false
  }
}

/** Platform endpoints every tenant's config points at. */
export interface OpenClawConfigOptions {
  /** OpenAI-compatible base URL of the clawfleet token proxy (e.g. `http://token-proxy:8080/v1`). */
  readonly tokenProxyUrl: string
  /** Base URL of the MCP tool broker: a tool is served at `/mcp/<tool>`, a knowledge base at `/mcp/knowledge/<name>`. */
  readonly toolBrokerUrl: string
  /** The HTTP CONNECT egress proxy. */
  readonly egressProxyUrl: string
  readonly gatewayPort?: number | undefined
  /** Where the tenant agent syncs granted skills; by default a directory of the tenant's state dir. */
  readonly skillsDir?: string | undefined
}

/** Names of the environment variables that hold the tenant's secrets. Values never reach the config. */
export interface SecretEnvNames {
  readonly gatewayToken: string
  /** The tenant's virtual key for the token proxy. */
  readonly modelKey: string
  /** The tenant's token for the tool broker. */
  readonly toolToken: string
  readonly telegramBotToken: string
  readonly slackBotToken: string
  readonly slackAppToken: string
}

export interface RenderInput {
  readonly tenant: string
  readonly spec: TenantSpec
  readonly access: EffectiveAccess
  readonly env: SecretEnvNames
}

/** OpenClaw's SecretRef, read from the gateway's environment by its built-in `default` env provider. */
export type EnvSecretRef = { readonly source: "env"; readonly provider: "default"; readonly id: string }

type McpServer = { readonly url: string; readonly transport: "streamable-http"; readonly headers: { readonly Authorization: string } }
type DmPolicy = "pairing" | "allowlist"

/** The `openclaw.json` clawfleet writes: exactly these keys, nothing else. */
export type OpenClawJson = {
  readonly gateway: {
    readonly mode: "local"
    readonly bind: "loopback"
    readonly port: number
    readonly auth: { readonly mode: "token"; readonly token: EnvSecretRef }
  }
  readonly models: {
    readonly mode: "replace"
    readonly providers: {
      readonly [providerId: string]: {
        readonly baseUrl: string
        readonly api: "openai-completions"
        readonly apiKey: EnvSecretRef
        readonly models: ReadonlyArray<{ readonly id: string; readonly name: string }>
      }
    }
  }
  readonly agents?: {
    readonly defaults: { readonly model: { readonly primary: string }; readonly modelPolicy: { readonly allow: ReadonlyArray<string> } }
  }
  readonly skills: { readonly load: { readonly extraDirs: ReadonlyArray<string> } }
  readonly mcp?: { readonly servers: { readonly [name: string]: McpServer } }
  readonly proxy: { readonly proxyUrl: string }
  readonly channels?: {
    readonly telegram?: {
      readonly enabled: true
      readonly botToken: EnvSecretRef
      readonly dmPolicy: DmPolicy
      readonly allowFrom?: ReadonlyArray<string>
      readonly groupPolicy: "disabled"
    }
    readonly slack?: {
      readonly enabled: true
      readonly mode: "socket"
      readonly botToken: EnvSecretRef
      readonly appToken: EnvSecretRef
      readonly dmPolicy: DmPolicy
      readonly groupPolicy: "disabled"
    }
  }
}

/** The model provider id in OpenClaw: models are referred to as `clawfleet/<model>`. */
export const modelProviderId = "clawfleet"
/**
 * Inside the state dir, which every provider sets per tenant (`OPENCLAW_STATE_DIR`); OpenClaw
 * substitutes it when it loads the config. Not `<state>/skills`: that one is OpenClaw's own
 * managed-skills directory, which the agent may write to.
 */
export const defaultSkillsDir = `\${OPENCLAW_STATE_DIR}/clawfleet/skills`
/** MCP server name of a knowledge base. Tool names are DNS labels, so `_` keeps the two apart. */
export const knowledgeServerName = (knowledgeBase: string) => `knowledge_${knowledgeBase}`

// OpenClaw's grammar for env SecretRef ids; `${VAR}` substitution accepts a superset of it.
const envNamePattern = /^[A-Z][A-Z0-9_]{0,127}$/
const resourceNamePattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
// Numeric Telegram user ids (OpenClaw also takes `telegram:` or `tg:` in front). A wildcard or an
// @username would let strangers, or whoever takes over that name, talk to someone's assistant.
const telegramUserPattern = /^(?:telegram:|tg:)?[0-9]{1,20}$/

const envRef = (id: string): EnvSecretRef => ({ source: "env", provider: "default", id })

const fail = (
  reason: OpenClawConfigErrorReason,
  detail: string,
  extra: Pick<Partial<OpenClawConfigError>, "tenant" | "version" | "supported" | "issues"> = {}
) => Effect.fail(new OpenClawConfigError({ reason, detail, ...extra }))

const checkUrl = (option: string, value: string) => {
  try {
    const url = new URL(value)
    if (url.protocol !== "http:" && url.protocol !== "https:") return `${option} must be an http(s) URL, not ${url.protocol}`
    // The config is readable by the agent: credentials belong in environment variables.
    if (url.username !== "" || url.password !== "") return `${option} must not carry credentials`
    return undefined
  } catch {
    return `${option} must be an absolute URL, got ${JSON.stringify(value)}`
  }
}

const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, "")

/**
 * The egress proxy as the gateway must call it: with the tenant's key as the Basic password, so
 * the proxy knows whose grants to apply (anonymous connections are refused). OpenClaw substitutes
 * `${VAR}` in any config string, so the key stays in the environment; the user name is only the
 * tenant's, for the proxy's logs.
 */
const proxyWithKey = (proxyUrl: string, tenant: string, keyVariable: string) => {
  const url = new URL(proxyUrl)
  return `${url.protocol}//${tenant}:\${${keyVariable}}@${url.host}${url.pathname === "/" ? "" : url.pathname}`
}

const make = Effect.fnUntraced(function* (options: OpenClawConfigOptions) {
  const port = options.gatewayPort ?? 18789
  const skillsDir = options.skillsDir ?? defaultSkillsDir
  const problems = [
    checkUrl("tokenProxyUrl", options.tokenProxyUrl),
    checkUrl("toolBrokerUrl", options.toolBrokerUrl),
    checkUrl("egressProxyUrl", options.egressProxyUrl),
    Number.isInteger(port) && port >= 1 && port <= 65535 ? undefined : `gatewayPort must be a TCP port, got ${port}`,
    skillsDir.trim() === "" ? "skillsDir must not be empty" : undefined
  ].filter((p) => p !== undefined)
  if (problems.length > 0) return yield* fail("InvalidOptions", problems.join("; "))
  const tokenProxyUrl = withoutTrailingSlash(options.tokenProxyUrl)
  const toolBrokerUrl = withoutTrailingSlash(options.toolBrokerUrl)

  const render = Effect.fn("OpenClawConfig.render")(function* (input: RenderInput) {
    const { tenant, spec, access, env } = input
    const version = spec.openclaw.version
    const invalid = (detail: string) => fail("InvalidSpec", detail, { tenant, version })
    const schema = openClawSchemas.get(version)
    if (schema === undefined) {
      return yield* fail(
        "UnsupportedVersion",
        `OpenClaw ${version} is not supported; supported versions: ${supportedOpenClawVersions.join(", ")}`,
        { tenant, version, supported: supportedOpenClawVersions }
      )
    }
    for (const [key, name] of Object.entries(env)) {
      if (!envNamePattern.test(name)) return yield* invalid(`env.${key}: ${JSON.stringify(name)} is not an environment variable name`)
    }
    const badName = [...access.tools, ...access.knowledge].find((n) => !resourceNamePattern.test(n))
    if (badName !== undefined) return yield* invalid(`tool or knowledge base ${JSON.stringify(badName)} is not a DNS label`)

    const defaultModel = spec.models.default ?? access.models[0]
    if (defaultModel !== undefined && !access.models.includes(defaultModel)) {
      const granted = access.models.length === 0 ? "no models are granted" : `granted models: ${access.models.join(", ")}`
      return yield* invalid(`models.default "${defaultModel}" is not granted to the owner "${spec.owner}" (${granted})`)
    }
    const ref = (model: string) => `${modelProviderId}/${model}`

    // Every server gets the same tenant token; the broker checks the grant on each call.
    const authorization = { Authorization: `Bearer \${${env.toolToken}}` }
    const servers: Array<readonly [string, McpServer]> = [
      ...access.tools.map((tool) => [tool, `${toolBrokerUrl}/mcp/${tool}`] as const),
      ...access.knowledge.map((kb) => [knowledgeServerName(kb), `${toolBrokerUrl}/mcp/knowledge/${kb}`] as const)
    ].map(([name, url]) => [name, { url, transport: "streamable-http", headers: authorization }] as const)

    const { telegram, slack } = spec.channels
    const allowFrom = telegram?.allowFrom ?? []
    const stranger = allowFrom.find((id) => !telegramUserPattern.test(id))
    if (stranger !== undefined) {
      return yield* invalid(`channels.telegram.allowFrom: ${JSON.stringify(stranger)} is not a numeric Telegram user id`)
    }
    // A personal assistant answers its owner's DMs; groups would show the owner's data to others.
    const channels: NonNullable<OpenClawJson["channels"]> = {
      ...(telegram && {
        telegram: {
          enabled: true,
          botToken: envRef(env.telegramBotToken),
          ...(allowFrom.length > 0 ? { dmPolicy: "allowlist", allowFrom } : { dmPolicy: "pairing" }),
          groupPolicy: "disabled"
        }
      }),
      ...(slack && {
        slack: {
          enabled: true,
          mode: "socket",
          botToken: envRef(env.slackBotToken),
          appToken: envRef(env.slackAppToken),
          dmPolicy: "pairing",
          groupPolicy: "disabled"
        }
      })
    }

    const config: OpenClawJson = {
      gateway: { mode: "local", bind: "loopback", port, auth: { mode: "token", token: envRef(env.gatewayToken) } },
      models: {
        mode: "replace",
        providers: {
          [modelProviderId]: {
            baseUrl: tokenProxyUrl,
            api: "openai-completions",
            apiKey: envRef(env.modelKey),
            models: access.models.map((id) => ({ id, name: id }))
          }
        }
      },
      ...(defaultModel !== undefined && {
        agents: { defaults: { model: { primary: ref(defaultModel) }, modelPolicy: { allow: access.models.map(ref) } } }
      }),
      skills: { load: { extraDirs: [skillsDir] } },
      ...(servers.length > 0 && { mcp: { servers: Object.fromEntries(servers) } }),
      proxy: { proxyUrl: proxyWithKey(options.egressProxyUrl, tenant, env.modelKey) },
      ...(Object.keys(channels).length > 0 && { channels })
    }

    const issues = validateJson(schema, config)
    const first = issues[0]
    if (first !== undefined) {
      const detail = `the rendered config does not fit OpenClaw ${version}'s schema: ${first.path}: ${first.message}`
      return yield* fail("Rejected", detail, { tenant, version, issues })
    }
    return config
  })

  return { render, supportedVersions: supportedOpenClawVersions }
})

/**
 * Renders a tenant's `openclaw.json` for its pinned OpenClaw version. Secrets appear only as
 * references to environment variables: SecretRef objects where OpenClaw 2026.9.6 accepts them
 * (gateway token, model API key, channel tokens) and `${VAR}` substitution in MCP headers, whose
 * values OpenClaw types as plain strings. The output is checked against the version's schema
 * snapshot, because OpenClaw refuses to start on a config with a key it does not know.
 *
 * With `proxy.proxyUrl` set, OpenClaw sends all non-loopback traffic through the egress proxy,
 * the calls to the token proxy and the tool broker included: the egress proxy must let those
 * through for every tenant. The proxy URL carries the tenant's key by reference
 * (`http://<tenant>:${CLAWFLEET_MODEL_KEY}@host:port`), so the proxy can tell tenants apart.
 */
export class OpenClawConfig extends Context.Service<
  OpenClawConfig,
  {
    readonly render: (input: RenderInput) => Effect.Effect<OpenClawJson, OpenClawConfigError>
    readonly supportedVersions: ReadonlyArray<string>
  }
>()("@clawfleet/core/OpenClawConfig") {
  static readonly layer = (options: OpenClawConfigOptions): Layer.Layer<OpenClawConfig, OpenClawConfigError> =>
    Layer.effect(OpenClawConfig, Effect.map(make(options), OpenClawConfig.of))

  /** The reconciler's runtime compiler with this renderer: the production wiring. */
  static readonly runtimeCompiler = Layer.unwrap(
    OpenClawConfig.useSync((openclaw) =>
      RuntimeCompiler.layerWith(({ tenant, access, env }) =>
        openclaw
          .render({ tenant: tenant.name, spec: tenant.spec, access, env })
          .pipe(Effect.mapError((e) => new CompileError({ tenant: tenant.name, detail: `${e.reason}: ${e.detail}` })))
      )
    )
  )
}
