import { spawn } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  defaultOpenClawCache,
  type EffectiveAccess,
  installOpenClaw,
  type JsonSchema,
  type OpenClawInstall,
  pathWithOurNode,
  SecretEnv,
  TenantSpec
} from "@clawfleet/core"
import { Effect, Schema } from "effect"

// ---- The pinned OpenClaw, installed once per machine outside the repository ------------------

export type { OpenClawInstall }

/** Where a version is installed: the library's cache, shared with the local runtime. */
export const openClawDir = (version: string) => join(defaultOpenClawCache(), version)

const run = (command: string, args: ReadonlyArray<string>, options: { env: NodeJS.ProcessEnv; cwd?: string }) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })

/**
 * Installs `openclaw@version` into the cache when it is not there, and returns where it is. A
 * first install takes a minute or more, so its progress goes to stderr.
 */
export const ensureOpenClaw = (version: string): Promise<OpenClawInstall> =>
  Effect.runPromise(installOpenClaw({ version, onProgress: (line) => process.stderr.write(`clawfleet: ${line}\n`) }))

export interface ValidateResult {
  readonly valid: boolean
  readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }>
  readonly warnings: ReadonlyArray<{ readonly path: string; readonly message: string }>
}

/**
 * Runs the real `openclaw config validate --json` on one config, with its own config path, state
 * directory and HOME, and only the environment given: a developer's own `~/.openclaw` or
 * `OPENCLAW_*` variables must not change the verdict.
 */
export const validateWithOpenClaw = async (
  install: OpenClawInstall,
  config: unknown,
  env: Readonly<Record<string, string>> = {}
): Promise<ValidateResult> => {
  const root = await mkdtemp(join(tmpdir(), "clawfleet-openclaw-"))
  try {
    const configPath = join(root, "openclaw.json")
    await writeFile(configPath, JSON.stringify(config, null, 2))
    const result = await run(process.execPath, [install.entry, "config", "validate", "--json"], {
      cwd: root,
      env: {
        PATH: pathWithOurNode(),
        HOME: join(root, "home"),
        OPENCLAW_STATE_DIR: join(root, "state"),
        OPENCLAW_CONFIG_PATH: configPath,
        ...env
      }
    })
    const start = result.stdout.indexOf("{")
    if (start < 0) throw new Error(`openclaw config validate printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`)
    const out = JSON.parse(result.stdout.slice(start)) as Partial<ValidateResult>
    return { valid: out.valid === true && result.code === 0, issues: out.issues ?? [], warnings: out.warnings ?? [] }
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

/** The full JSON Schema of `openclaw.json` as that version prints it (offline). */
export const openClawSchema = async (install: OpenClawInstall): Promise<Record<string, unknown>> => {
  const root = await mkdtemp(join(tmpdir(), "clawfleet-openclaw-"))
  try {
    const result = await run(process.execPath, [install.entry, "config", "schema"], {
      cwd: root,
      env: { PATH: pathWithOurNode(), HOME: root, OPENCLAW_STATE_DIR: join(root, "state") }
    })
    if (result.code !== 0) throw new Error(`openclaw config schema failed (exit ${result.code}):\n${result.stderr}`)
    return JSON.parse(result.stdout.slice(result.stdout.indexOf("{"))) as Record<string, unknown>
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

// ---- Extracting the snapshot of the keys clawfleet emits -----------------------------------

/** Which keys to keep: `true` keeps a value's whole schema, `"*"` is every key of a map, `"[]"` every item. */
export type Shape = true | { readonly [key: string]: Shape }

/** Every key `OpenClawConfig.render` can emit, for OpenClaw 2026.9.x. */
export const emittedShape: Shape = {
  gateway: { mode: true, bind: true, port: true, auth: { mode: true, token: true } },
  models: { mode: true, providers: { "*": { baseUrl: true, api: true, apiKey: true, models: { "[]": { id: true, name: true } } } } },
  agents: { defaults: { model: { primary: true }, modelPolicy: { allow: true } } },
  skills: { load: { extraDirs: true } },
  mcp: { servers: { "*": { url: true, transport: true, headers: true } } },
  proxy: { proxyUrl: true },
  channels: {
    telegram: { enabled: true, botToken: true, dmPolicy: true, allowFrom: true, groupPolicy: true },
    slack: { enabled: true, mode: true, botToken: true, appToken: true, dmPolicy: true, groupPolicy: true }
  }
}

type Node = Record<string, unknown>
const isNode = (v: unknown): v is Node => typeof v === "object" && v !== null && !Array.isArray(v)

const strip = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(strip)
  if (!isNode(v)) return v
  return Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (k === "title" || k === "description" ? [] : [[k, strip(x)]])))
}

/**
 * The part of OpenClaw's schema that covers `shape`, with titles and descriptions dropped. Keys
 * OpenClaw lists as required only because they have a default are dropped from `required` (the
 * printed schema is the parsed output, where defaults are filled in); any other required key that
 * clawfleet does not emit is an error, as is a key OpenClaw does not know.
 */
export const extractSchemaSubset = (schema: unknown, shape: Shape, path = "#"): JsonSchema => {
  if (shape === true) return strip(schema) as JsonSchema
  if (!isNode(schema)) throw new Error(`${path}: expected a schema object`)
  for (const key of ["anyOf", "oneOf"] as const) {
    const alternatives = schema[key]
    if (!Array.isArray(alternatives)) continue
    const rest = strip(Object.fromEntries(Object.entries(schema).filter(([k]) => k !== key))) as Node
    const branches = alternatives.map((b: unknown, i) =>
      isNode(b) && (b.type === "object" || b.type === "array" || "anyOf" in b || "oneOf" in b)
        ? extractSchemaSubset(b, shape, `${path}/${key}/${i}`)
        : strip(b)
    )
    return { ...rest, [key]: branches } as JsonSchema
  }
  const out: Record<string, unknown> = {}
  if (schema.type !== undefined) out.type = schema.type
  if ("[]" in shape) {
    if (schema.items === undefined) throw new Error(`${path}: OpenClaw has no array here`)
    out.items = extractSchemaSubset(schema.items, shape["[]"]!, `${path}/items`)
    for (const k of ["minItems", "maxItems"]) if (schema[k] !== undefined) out[k] = schema[k]
    return out as JsonSchema
  }
  const properties = (isNode(schema.properties) ? schema.properties : {}) as Record<string, unknown>
  const keys = Object.keys(shape).filter((k) => k !== "*")
  if (keys.length > 0) {
    out.properties = Object.fromEntries(
      keys.map((k) => {
        if (properties[k] === undefined) throw new Error(`${path}: OpenClaw has no key "${k}"`)
        return [k, extractSchemaSubset(properties[k], shape[k]!, `${path}/${k}`)]
      })
    )
  }
  const required = ((schema.required ?? []) as ReadonlyArray<string>).filter((k) => {
    if (keys.includes(k)) return true
    if (isNode(properties[k]) && "default" in properties[k]) return false
    throw new Error(`${path}: OpenClaw requires "${k}", which clawfleet does not emit`)
  })
  if (required.length > 0) out.required = required
  if (schema.propertyNames !== undefined) out.propertyNames = strip(schema.propertyNames)
  const extra = schema.additionalProperties
  if ("*" in shape) out.additionalProperties = extractSchemaSubset(extra, shape["*"]!, `${path}/*`)
  else if (extra === false || extra === true || (isNode(extra) && Object.keys(extra).length === 0)) out.additionalProperties = extra
  else if (extra !== undefined) throw new Error(`${path}: OpenClaw allows typed extra keys here; describe them with "*"`)
  return out as JsonSchema
}

// ---- The matrix of tenants both test files render ------------------------------------------

/** Recognisable values for every secret: none may ever appear in a rendered config. */
export const fakeSecretValues = {
  CLAWFLEET_GATEWAY_TOKEN: "FAKE-SECRET-gateway-3f9c1a",
  CLAWFLEET_MODEL_KEY: "FAKE-SECRET-model-key-8d2e44",
  CLAWFLEET_TOOL_TOKEN: "FAKE-SECRET-tool-token-51b7c0",
  CLAWFLEET_TELEGRAM_BOT_TOKEN: "123456:FAKE-SECRET-telegram-aa90",
  CLAWFLEET_SLACK_BOT_TOKEN: "xoxb-FAKE-SECRET-slack-bot-77f1",
  CLAWFLEET_SLACK_APP_TOKEN: "xapp-FAKE-SECRET-slack-app-0c3d"
} as const

/** The names the reconciler's compiler hands the renderer. */
export const secretEnv = SecretEnv

export const platform = {
  tokenProxyUrl: "http://token-proxy.clawfleet-system.svc:8080/v1",
  toolBrokerUrl: "http://tool-broker.clawfleet-system.svc:8081",
  egressProxyUrl: "http://egress-proxy.clawfleet-system.svc:3128"
} as const

export const spec = (extra: Record<string, unknown> = {}) =>
  Schema.decodeUnknownSync(TenantSpec)({
    owner: "ada",
    openclaw: { version: "2026.9.6" },
    resources: { cpu: "1", memory: "2Gi", storage: "10Gi" },
    ...extra
  })

export const access = (extra: Partial<EffectiveAccess> = {}): EffectiveAccess => ({
  tenant: "ada",
  owner: "ada",
  skills: [],
  tools: [],
  knowledge: [],
  egress: [],
  models: ["gpt-4.1"],
  ...extra
})

const telegram = { botToken: { name: "ada-telegram", key: "bot-token" }, allowFrom: ["123456789"] }
const slack = { botToken: { name: "ada-slack", key: "bot-token" }, appToken: { name: "ada-slack", key: "app-token" } }

/** Tenants that between them reach every key the renderer emits. */
export const matrix: ReadonlyArray<{ readonly name: string; readonly spec: TenantSpec; readonly access: EffectiveAccess }> = [
  { name: "no channels", spec: spec({ models: { default: "gpt-4.1" } }), access: access() },
  { name: "telegram", spec: spec({ channels: { telegram } }), access: access() },
  { name: "telegram by pairing", spec: spec({ channels: { telegram: { botToken: telegram.botToken } } }), access: access() },
  { name: "slack", spec: spec({ channels: { slack } }), access: access() },
  { name: "no models granted", spec: spec(), access: access({ models: [] }) },
  {
    name: "several models and a default",
    spec: spec({ models: { default: "claude-sonnet-4-5" } }),
    access: access({ models: ["claude-sonnet-4-5", "gpt-4.1", "openai/gpt-5"] })
  },
  {
    name: "tools and knowledge",
    spec: spec(),
    access: access({ tools: ["github", "jira"], knowledge: ["handbook", "runbooks"], skills: ["pdf"] })
  },
  {
    name: "everything, with budget and idle policy",
    spec: spec({
      models: { default: "gpt-4.1" },
      channels: { telegram, slack },
      budget: { monthlyTokens: 1_000_000, monthlyUsd: 50 },
      idle: { suspendAfterMinutes: 30 }
    }),
    access: access({ tools: ["github"], knowledge: ["handbook"], models: ["gpt-4.1", "o4-mini"] })
  }
]
