import { readFile } from "node:fs/promises"
import { dirname, resolve } from "node:path"

/** Where the configuration comes from. Everything defaults to this process's own. */
export interface ConfigSources {
  /** Command-line arguments: `--config <path>` (or `--config=<path>`) names the JSON file. Default `process.argv.slice(2)`. */
  readonly argv?: ReadonlyArray<string> | undefined
  /** Default `process.env`. `CLAWFLEET_CONFIG` names the file when `--config` does not. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
}

export interface Problem {
  readonly path: string
  readonly message: string
}

/** What the file and the environment say together, before it is decoded. */
export interface Gathered {
  readonly raw: Record<string, unknown>
  /** Which setting came from which variable or file, to name it next to a problem. */
  readonly origins: ReadonlyMap<string, string>
  /** Problems found while reading: an unreadable file, a secret in the wrong place. */
  readonly problems: ReadonlyArray<Problem>
  /** Settings whose problem is already told (an unreadable key file): the schema's word on them is left out. */
  readonly covered: ReadonlySet<string>
  /** Secret values read, so no message can carry one. */
  readonly secrets: ReadonlyArray<string>
  /** "config file <path> and the environment", for the error's first line. */
  readonly source: string
}

type Parse = "text" | "integer" | "list"

/** Each variable overrides one setting of the file. */
export const ENV_OVERRIDES: ReadonlyArray<{ readonly env: string; readonly path: ReadonlyArray<string>; readonly parse: Parse }> = [
  { env: "CLAWFLEET_PUBLIC_URL", path: ["publicUrl"], parse: "text" },
  { env: "CLAWFLEET_LISTEN_HOST", path: ["listen", "host"], parse: "text" },
  { env: "CLAWFLEET_LISTEN_PORT", path: ["listen", "port"], parse: "integer" },
  { env: "CLAWFLEET_OIDC_ISSUER", path: ["oidc", "issuer"], parse: "text" },
  { env: "CLAWFLEET_OIDC_CLIENT_ID", path: ["oidc", "clientId"], parse: "text" },
  { env: "CLAWFLEET_OIDC_CLIENT_SECRET", path: ["oidc", "clientSecret"], parse: "text" },
  { env: "CLAWFLEET_ORG_ADMIN_PEOPLE", path: ["roles", "orgAdmins", "people"], parse: "list" },
  { env: "CLAWFLEET_ORG_ADMIN_GROUPS", path: ["roles", "orgAdmins", "groups"], parse: "list" },
  { env: "CLAWFLEET_TEAM_ADMIN_GROUP_PREFIX", path: ["roles", "teamAdminGroupPrefix"], parse: "text" },
  { env: "CLAWFLEET_PROVIDER_KIND", path: ["provider", "kind"], parse: "text" },
  { env: "CLAWFLEET_TOKEN_PROXY_PORT", path: ["tokenProxy", "port"], parse: "integer" },
  { env: "CLAWFLEET_TOKEN_PROXY_URL", path: ["tokenProxy", "url"], parse: "text" },
  { env: "CLAWFLEET_EGRESS_PROXY_PORT", path: ["egressProxy", "port"], parse: "integer" },
  { env: "CLAWFLEET_EGRESS_PROXY_URL", path: ["egressProxy", "url"], parse: "text" },
  { env: "CLAWFLEET_TOOLS_PORT", path: ["tools", "port"], parse: "integer" },
  { env: "CLAWFLEET_TOOLS_URL", path: ["tools", "url"], parse: "text" },
  { env: "CLAWFLEET_RECONCILER_CONCURRENCY", path: ["reconciler", "concurrency"], parse: "integer" }
]

/** The store is switched as a whole: a URL from the environment makes it postgres, whatever the file says. */
export const STORE_ENV = { kind: "CLAWFLEET_STORE_KIND", url: "CLAWFLEET_STORE_URL", dataDir: "CLAWFLEET_STORE_DATA_DIR" } as const
export const KEY_ENV = { value: "CLAWFLEET_KEY_ENCRYPTION_KEY", file: "CLAWFLEET_KEY_ENCRYPTION_KEY_FILE" } as const

const SECRET_PATHS = ["keyEncryptionKey", "oidc.clientSecret", "store.url"]

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** The file's path; "" when `--config` names none, which is a mistake rather than "no file". */
const configPathOf = (argv: ReadonlyArray<string>, env: ConfigSources["env"] & object): string | undefined => {
  for (const [i, arg] of argv.entries()) {
    if (arg === "--config") return argv[i + 1]?.startsWith("--") === false ? argv[i + 1] : ""
    if (arg.startsWith("--config=")) return arg.slice("--config=".length)
  }
  return env.CLAWFLEET_CONFIG || undefined
}

const errnoOf = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e))

// JSON.parse quotes the text around the error, which may be a secret: only the position is kept.
const jsonProblem = (text: string, e: unknown): string => {
  const message = e instanceof Error ? e.message : ""
  const lineColumn = /\(line (\d+) column (\d+)\)/.exec(message)
  if (lineColumn !== null) return `is not valid JSON (line ${lineColumn[1]}, column ${lineColumn[2]})`
  const position = /position (\d+)/.exec(message)
  if (position === null) return "is not valid JSON"
  const before = text.slice(0, Number(position[1])).split("\n")
  return `is not valid JSON (line ${before.length}, column ${before.at(-1)!.length + 1})`
}

const setPath = (target: Record<string, unknown>, path: ReadonlyArray<string>, value: unknown) => {
  let at = target
  for (const key of path.slice(0, -1)) {
    const next = at[key]
    // A non-object in the way is replaced: the variable is the newer word.
    at = isObject(next) ? next : (at[key] = {})
  }
  at[path.at(-1)!] = value
}

const getPath = (source: unknown, path: string): unknown =>
  path.split(".").reduce<unknown>((at, key) => (isObject(at) ? at[key] : undefined), source)

const parseValue = (value: string, parse: Parse): unknown =>
  parse === "integer"
    ? /^\d+$/.test(value.trim())
      ? Number(value.trim())
      : value
    : parse === "list"
      ? value
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "")
      : value

/**
 * Reads the file, lays the environment over it and reads the key-encryption key from where it
 * is named. Never fails: what cannot be read becomes a problem, reported with the rest.
 */
export const gather = async (sources: ConfigSources = {}): Promise<Gathered> => {
  const env = sources.env ?? process.env
  const problems: Array<Problem> = []
  const origins = new Map<string, string>()
  const configPath = configPathOf(sources.argv ?? process.argv.slice(2), env)
  let raw: Record<string, unknown> = {}

  if (configPath === "") {
    problems.push({ path: "(command line)", message: "--config needs the path of a JSON file" })
  } else if (configPath !== undefined) {
    const file = resolve(configPath)
    try {
      const text = await readFile(file, "utf8")
      try {
        const parsed: unknown = JSON.parse(text)
        if (isObject(parsed)) raw = parsed
        else problems.push({ path: "(config file)", message: "must hold a JSON object" })
      } catch (e) {
        problems.push({ path: "(config file)", message: `${file} ${jsonProblem(text, e)}` })
      }
    } catch (e) {
      problems.push({ path: "(config file)", message: `cannot read ${file} (${errnoOf(e)})` })
    }
  }

  for (const o of ENV_OVERRIDES) {
    const value = env[o.env]
    // Empty counts as unset, as with `${VAR:-default}`: a blank line in an env file changes nothing.
    if (value === undefined || value === "") continue
    setPath(raw, o.path, parseValue(value, o.parse))
    origins.set(o.path.join("."), o.env)
  }

  const store = { kind: env[STORE_ENV.kind], url: env[STORE_ENV.url], dataDir: env[STORE_ENV.dataDir] }
  const kind = store.kind || (store.url ? "postgres" : store.dataDir ? "pglite" : undefined)
  if (kind !== undefined) {
    const fileStore = isObject(raw.store) ? raw.store : {}
    raw.store = fileStore.kind === kind ? { ...fileStore, kind } : { kind }
    for (const key of ["kind", "url", "dataDir"] as const) {
      const value = store[key]
      if (!value) continue
      ;(raw.store as Record<string, unknown>)[key] = value
      origins.set(`store.${key}`, STORE_ENV[key])
    }
  }

  // The key is never written into the file: it comes from a variable, or from a file of its own.
  if (raw.keyEncryptionKey !== undefined) {
    problems.push({
      path: "keyEncryptionKey (in the config file)",
      message: `does not belong there: set ${KEY_ENV.value}, or name a file with keyEncryptionKeyFile or ${KEY_ENV.file}`
    })
    delete raw.keyEncryptionKey
  }
  const keyFile = env[KEY_ENV.file] || (typeof raw.keyEncryptionKeyFile === "string" ? raw.keyEncryptionKeyFile : undefined)
  const keyFileOrigin = env[KEY_ENV.file] ? KEY_ENV.file : "keyEncryptionKeyFile"
  if (raw.keyEncryptionKeyFile !== undefined && typeof raw.keyEncryptionKeyFile !== "string") {
    problems.push({ path: "keyEncryptionKeyFile", message: "must be a file path" })
  }
  delete raw.keyEncryptionKeyFile
  if (env[KEY_ENV.value]) {
    raw.keyEncryptionKey = env[KEY_ENV.value]
    origins.set("keyEncryptionKey", KEY_ENV.value)
  } else if (keyFile !== undefined) {
    // A path in the file is relative to the file, as the key usually sits beside it (one Secret, two keys).
    const file = keyFileOrigin === KEY_ENV.file || !configPath ? resolve(keyFile) : resolve(dirname(resolve(configPath)), keyFile)
    try {
      raw.keyEncryptionKey = (await readFile(file, "utf8")).trim()
      origins.set("keyEncryptionKey", `${keyFileOrigin} ${file}`)
    } catch (e) {
      problems.push({ path: keyFileOrigin, message: `cannot read ${file} (${errnoOf(e)})` })
    }
  } else {
    problems.push({
      path: "keyEncryptionKey",
      message: `is required: set ${KEY_ENV.value}, or name a file with keyEncryptionKeyFile or ${KEY_ENV.file}`
    })
  }

  const secrets = SECRET_PATHS.map((p) => getPath(raw, p)).filter((v): v is string => typeof v === "string")
  const source = configPath ? `config file ${resolve(configPath)} and the environment` : "the environment, no config file"
  // A key that could not be read is reported above, with the reason; "is required" would only repeat it.
  const covered = new Set(raw.keyEncryptionKey === undefined ? ["keyEncryptionKey"] : [])
  return { raw, origins, problems, covered, secrets, source }
}
