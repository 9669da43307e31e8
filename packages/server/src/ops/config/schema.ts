import { Effect, Schema } from "effect"
import { DEFAULT_TEAM_ADMIN_PREFIX } from "../../api/Roles.ts"

/**
 * The server's configuration as its file and environment give it, after secrets named by file or
 * variable have been read in. Every field has a message of its own that never repeats the value:
 * a configuration error is printed to logs that many people read.
 */

const url = (s: string): URL | undefined => {
  try {
    return new URL(s)
  } catch {
    return undefined
  }
}
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"])

const Text = Schema.String.annotate({ message: "must be a string" })
const NonEmpty = Text.check(Schema.isMinLength(1, { message: "must not be empty" }))
const list = <S extends Schema.Top>(item: S) => Schema.Array(item).annotate({ message: "must be a list" })
const withDefault = <S extends Schema.Top & Schema.WithoutConstructorDefault>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const Label = Text.check(
  Schema.makeFilter((s: string) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) && s.length <= 63, {
    message: "must be a DNS label: lower-case letters, digits and -, at most 63"
  })
)

/** Where people reach the server: an origin, so the callback and links built from it are what the IdP allows. */
const PublicUrl = Text.check(
  Schema.makeFilter((s: string) => {
    const u = url(s)
    if (u === undefined || !(u.protocol === "https:" || (u.protocol === "http:" && LOOPBACK.has(u.hostname)))) {
      return "must be an https URL (http only on localhost)"
    }
    return u.pathname === "/" && u.search === "" && u.hash === "" && u.username === "" && u.password === ""
      ? undefined
      : "must be an origin such as https://clawfleet.example.com, without a path, query or credentials"
  })
)

const HttpsUrl = Text.check(Schema.makeFilter((s: string) => url(s)?.protocol === "https:" || "must be an https URL"))

const HttpUrl = Text.check(
  Schema.makeFilter((s: string) => ["https:", "http:"].includes(url(s)?.protocol ?? "") || "must be an http or https URL")
)

const Port = Schema.Int.annotate({ message: "must be a port from 1 to 65535" }).check(
  Schema.isBetween({ minimum: 1, maximum: 65535 }, { message: "must be a port from 1 to 65535" })
)

/** 32 random bytes, base64 (or base64url) as `openssl rand -base64 32` prints them. */
export const isKeyEncryptionKey = (s: string) => /^[A-Za-z0-9+/_-]+={0,2}$/.test(s) && Buffer.from(s, "base64").length === 32

const KeyEncryptionKey = Schema.RedactedFromValue(
  Text.check(Schema.makeFilter((s: string) => isKeyEncryptionKey(s) || "must be 32 bytes, base64-encoded (openssl rand -base64 32)")),
  { label: "keyEncryptionKey" }
)

const PostgresUrl = Schema.RedactedFromValue(
  Text.check(
    Schema.makeFilter(
      (s: string) => ["postgres:", "postgresql:"].includes(url(s)?.protocol ?? "") || "must be a postgres:// or postgresql:// URL"
    )
  ),
  { label: "store.url" }
)

export const DEFAULT_DATA_DIR = ".clawfleet/data"

const Store = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("pglite"), dataDir: withDefault(NonEmpty, DEFAULT_DATA_DIR) }),
  Schema.Struct({ kind: Schema.Literal("postgres"), url: PostgresUrl })
]).annotate({ message: 'kind must be "pglite" (with dataDir) or "postgres" (with url)' })

const Upstream = Schema.Struct({
  /** What catalog models name as their `upstream`. */
  name: Label,
  dialect: Schema.Literals(["openai", "anthropic"]).annotate({ message: 'must be "openai" or "anthropic"' }),
  /** The API base including its version, e.g. `https://api.openai.com/v1`. */
  baseUrl: HttpUrl,
  /** The environment variable that holds the key: keys never sit in the file. */
  apiKeyEnv: Text.check(Schema.makeFilter((s: string) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) || "must be an environment variable name"))
})

const Provider = Schema.StructWithRest(
  Schema.Struct({ kind: Schema.Literals(["local", "k3s", "gke"]).annotate({ message: 'must be "local", "k3s" or "gke"' }) }),
  // The rest belongs to the provider and is decoded by its own schema (`K3sConfig`, `GkeConfig`).
  [Schema.Record(Schema.String, Schema.Unknown)]
)

/** A platform service tenants call: where it listens (on `listen.host`) and the URL tenants reach it by. */
const PlatformService = (port: number) =>
  withDefault(
    Schema.Struct({
      port: withDefault(Port, port),
      /** What tenants' configs point at; default `http://127.0.0.1:<port>`, right only for the local provider. */
      url: Schema.optionalKey(HttpUrl)
    }).annotate({ message: "must be an object" }),
    {}
  )

const Concurrency = Schema.Int.annotate({ message: "must be a whole number from 1 to 256" }).check(
  Schema.isBetween({ minimum: 1, maximum: 256 }, { message: "must be a whole number from 1 to 256" })
)

export const ServerConfigSchema = Schema.Struct({
  publicUrl: PublicUrl,
  listen: withDefault(
    Schema.Struct({ host: withDefault(NonEmpty, "0.0.0.0"), port: withDefault(Port, 8080) }).annotate({ message: "must be an object" }),
    {}
  ),
  store: withDefault(Store, { kind: "pglite" }),
  keyEncryptionKey: KeyEncryptionKey,
  oidc: Schema.Struct({
    issuer: HttpsUrl,
    clientId: NonEmpty,
    clientSecret: Schema.RedactedFromValue(NonEmpty, { label: "oidc.clientSecret" })
  }).annotate({ message: "must be an object" }),
  roles: withDefault(
    Schema.Struct({
      orgAdmins: withDefault(
        Schema.Struct({ people: withDefault(list(Label), []), groups: withDefault(list(NonEmpty), []) }).annotate({
          message: "must be an object"
        }),
        {}
      ),
      /** Members of group `<prefix><team>` administer that team. */
      teamAdminGroupPrefix: withDefault(NonEmpty, DEFAULT_TEAM_ADMIN_PREFIX)
    }).annotate({ message: "must be an object" }),
    {}
  ),
  upstreams: withDefault(list(Upstream), []),
  provider: withDefault(Provider.annotate({ message: "must be an object" }), { kind: "local" }),
  /** The token proxy tenants' models call (OpenAI clients append `/v1`). */
  tokenProxy: PlatformService(8081),
  /** The egress proxy: tenants' `HTTPS_PROXY`. */
  egressProxy: PlatformService(8082),
  /** The tool broker (MCP) and knowledge tools. */
  tools: PlatformService(8083),
  reconciler: withDefault(
    Schema.Struct({
      /** How many tenants are reconciled at once. */
      concurrency: withDefault(Concurrency, 16)
    }).annotate({ message: "must be an object" }),
    {}
  )
}).annotate({ message: "must be a JSON object" })

export type ServerConfigInput = typeof ServerConfigSchema.Encoded
export type DecodedServerConfig = typeof ServerConfigSchema.Type
