import type { Person, UpstreamConfig } from "@clawfleet/core"
import { Context, Effect, Layer, Redacted, Result, Schema } from "effect"
import { redact, ServerConfigError, schemaProblems, withOrigin } from "./config/problems.ts"
import { type DecodedServerConfig, ServerConfigSchema } from "./config/schema.ts"
import { type ConfigSources, gather, type Problem } from "./config/sources.ts"

export { ServerConfigError } from "./config/problems.ts"
export { DEFAULT_DATA_DIR, type ServerConfigInput } from "./config/schema.ts"
export { type ConfigSources, ENV_OVERRIDES, KEY_ENV, STORE_ENV } from "./config/sources.ts"

/** An upstream as the token proxy takes it, its key read from the variable the file names. */
export type ServerUpstream = UpstreamConfig & { readonly apiKeyEnv: string }

export interface ServerConfigShape extends Omit<DecodedServerConfig, "upstreams"> {
  readonly upstreams: ReadonlyArray<ServerUpstream>
}

/**
 * The reference server's configuration: a JSON file (`--config path`, or `CLAWFLEET_CONFIG`)
 * with `CLAWFLEET_*` variables laid over it, decoded with defaults and checked before anything
 * starts. Secrets arrive as `Redacted` values: the key-encryption key from a variable or a file
 * of its own, upstream keys from the variables the file names, never from the file itself.
 */
export class ServerConfig extends Context.Service<ServerConfig, ServerConfigShape>()("@clawfleet/server/ServerConfig") {
  static layer(sources: ConfigSources = {}): Layer.Layer<ServerConfig, ServerConfigError> {
    return Layer.effect(ServerConfig, loadServerConfig(sources))
  }
}

/** Problems with upstreams that need more than one of them, or the environment, to see. */
const upstreamProblems = (raw: unknown, env: Readonly<Record<string, string | undefined>>): ReadonlyArray<Problem> => {
  const out: Array<Problem> = []
  const seen = new Set<string>()
  for (const [i, u] of (Array.isArray(raw) ? raw : []).entries()) {
    const { name, apiKeyEnv } = (typeof u === "object" && u !== null ? u : {}) as { name?: unknown; apiKeyEnv?: unknown }
    if (typeof name === "string" && seen.has(name))
      out.push({ path: `upstreams[${i}].name`, message: `"${name}" names another upstream too` })
    if (typeof name === "string") seen.add(name)
    if (typeof apiKeyEnv === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(apiKeyEnv) && !env[apiKeyEnv]) {
      out.push({ path: `upstreams[${i}].apiKeyEnv`, message: `the variable ${apiKeyEnv} is not set` })
    }
  }
  return out
}

/** Ports that two of the server's listeners would share. */
const portProblems = (config: DecodedServerConfig): ReadonlyArray<Problem> => {
  const out: Array<Problem> = []
  const taken = new Map<number, string>([[config.listen.port, "listen.port"]])
  for (const name of ["tokenProxy", "egressProxy", "tools"] as const) {
    const port = config[name].port
    const other = taken.get(port)
    if (other !== undefined) out.push({ path: `${name}.port`, message: `is ${other} too: every listener needs a port of its own` })
    else taken.set(port, `${name}.port`)
  }
  return out
}

/** The values of the variables upstreams name: secrets, whatever else is wrong with the upstream. */
const upstreamKeys = (raw: unknown, env: Readonly<Record<string, string | undefined>>): ReadonlyArray<string> =>
  (Array.isArray(raw) ? raw : []).flatMap((u) => {
    const name = typeof u === "object" && u !== null ? (u as { apiKeyEnv?: unknown }).apiKeyEnv : undefined
    const value = typeof name === "string" ? env[name] : undefined
    return value === undefined ? [] : [value]
  })

/** Reads and checks the configuration; fails with one error naming every problem. */
export const loadServerConfig = (sources: ConfigSources = {}): Effect.Effect<ServerConfigShape, ServerConfigError> =>
  Effect.gen(function* () {
    const env = sources.env ?? process.env
    const gathered = yield* Effect.promise(() => gather(sources))
    const decoded = Schema.decodeUnknownResult(ServerConfigSchema)(gathered.raw, { errors: "all", onExcessProperty: "error" })
    const problems = [
      ...gathered.problems,
      ...(Result.isFailure(decoded) ? schemaProblems(decoded.failure).filter((p) => !gathered.covered.has(p.path)) : []),
      ...upstreamProblems(gathered.raw.upstreams, env),
      ...(Result.isSuccess(decoded) ? portProblems(decoded.success) : [])
    ]
    if (Result.isFailure(decoded) || problems.length > 0) {
      const secrets = [...gathered.secrets, ...upstreamKeys(gathered.raw.upstreams, env)]
      return yield* new ServerConfigError({
        source: gathered.source,
        problems: problems
          .map((p) => withOrigin(p, gathered.origins))
          .map((p) => ({ path: redact(p.path, secrets), message: redact(p.message, secrets) }))
      })
    }
    const config = decoded.success
    return {
      ...config,
      upstreams: config.upstreams.map((u) => ({ ...u, apiKey: Redacted.make(env[u.apiKeyEnv]!, { label: u.apiKeyEnv }) }))
    }
  })

/** Whether the configuration makes this person an administrator of the whole organisation. */
export const isOrgAdmin =
  (roles: ServerConfigShape["roles"]) =>
  (person: Person): boolean =>
    !person.disabled && (roles.orgAdmins.people.includes(person.id) || person.groups.some((g) => roles.orgAdmins.groups.includes(g)))
