import { randomBytes } from "node:crypto"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, join } from "node:path"
import { Person } from "@clawfleet/core"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, Schema } from "effect"
import fc from "fast-check"
import { type ConfigSources, isOrgAdmin, loadServerConfig, type ServerConfigError } from "../../src/ops/ServerConfig.ts"

const dir = mkdtempSync(join(tmpdir(), "clawfleet-config-"))
let files = 0
/** Writes `content` (JSON unless a string) to a fresh file and returns its path. */
const file = (content: unknown) => {
  const path = join(dir, `file-${files++}.json`)
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content))
  return path
}

const KEY = randomBytes(32).toString("base64")
const minimal = {
  publicUrl: "https://clawfleet.example.com",
  oidc: { issuer: "https://login.example.com", clientId: "clawfleet", clientSecret: "oidc-client-secret" },
  upstreams: [{ name: "openai", dialect: "openai", baseUrl: "https://api.openai.com/v1", apiKeyEnv: "OPENAI_API_KEY" }]
}
const env = { CLAWFLEET_KEY_ENCRYPTION_KEY: KEY, OPENAI_API_KEY: "sk-real-upstream-key" }

const load = (sources: ConfigSources) => loadServerConfig(sources)
const failure = (sources: ConfigSources) => Effect.flip(loadServerConfig(sources))

describe("ServerConfig", () => {
  it.effect("decodes a small file, filling in every default", () =>
    Effect.gen(function* () {
      const config = yield* load({ argv: ["--config", file(minimal)], env })
      assert.strictEqual(config.publicUrl, "https://clawfleet.example.com")
      assert.deepStrictEqual(config.listen, { host: "0.0.0.0", port: 8080 })
      assert.deepStrictEqual(config.store, { kind: "pglite", dataDir: ".clawfleet/data" })
      assert.deepStrictEqual(config.roles, { orgAdmins: { people: [], groups: [] }, teamAdminGroupPrefix: "clawfleet-team-admins-" })
      assert.deepStrictEqual(config.provider, { kind: "local" })
      assert.strictEqual(Redacted.value(config.keyEncryptionKey), KEY)
      assert.strictEqual(Redacted.value(config.oidc.clientSecret), "oidc-client-secret")
      const [upstream] = config.upstreams
      assert.strictEqual(upstream?.baseUrl, "https://api.openai.com/v1")
      assert.strictEqual(Redacted.value(upstream!.apiKey), "sk-real-upstream-key")
      assert.notInclude(JSON.stringify(config), "sk-real-upstream-key", "secrets stay redacted when the config is logged")
      assert.notInclude(String(config.keyEncryptionKey), KEY)
    })
  )

  it.effect("reads the key-encryption key from a file of its own, and names the config file by variable", () =>
    Effect.gen(function* () {
      const keyFile = file(`${KEY}\n`)
      const config = yield* load({
        argv: [],
        env: { OPENAI_API_KEY: "k", CLAWFLEET_CONFIG: file({ ...minimal, keyEncryptionKeyFile: keyFile }) }
      })
      assert.strictEqual(Redacted.value(config.keyEncryptionKey), KEY)
      // A relative path is read beside the config file, wherever the server was started.
      const beside = file({ ...minimal, keyEncryptionKeyFile: `./${basename(keyFile)}` })
      const relative = yield* load({ argv: ["--config", beside], env: { OPENAI_API_KEY: "k" } })
      assert.strictEqual(Redacted.value(relative.keyEncryptionKey), KEY)
    })
  )

  it.effect("lets CLAWFLEET_* variables override the file", () =>
    Effect.gen(function* () {
      const path = file({
        ...minimal,
        listen: { host: "127.0.0.1", port: 8080 },
        store: { kind: "pglite", dataDir: "/var/lib/clawfleet" },
        roles: { orgAdmins: { people: ["ada"], groups: ["admins"] } },
        provider: { kind: "k3s", namespacePrefix: "claw-", platform: { tokenProxy: { namespace: "clawfleet" } } }
      })
      const config = yield* load({
        argv: [`--config=${path}`],
        env: {
          ...env,
          CLAWFLEET_PUBLIC_URL: "https://fleet.example.org",
          CLAWFLEET_LISTEN_PORT: "9090",
          CLAWFLEET_STORE_URL: "postgres://clawfleet:pw@db.internal:5432/clawfleet",
          CLAWFLEET_OIDC_CLIENT_SECRET: "from-the-environment",
          CLAWFLEET_ORG_ADMIN_PEOPLE: "grace, linus",
          CLAWFLEET_PROVIDER_KIND: "k3s"
        }
      })
      assert.strictEqual(config.publicUrl, "https://fleet.example.org")
      assert.deepStrictEqual(config.listen, { host: "127.0.0.1", port: 9090 })
      assert.strictEqual(config.store.kind, "postgres", "a database URL from the environment replaces the file's store")
      assert.strictEqual(
        config.store.kind === "postgres" && Redacted.value(config.store.url),
        "postgres://clawfleet:pw@db.internal:5432/clawfleet"
      )
      assert.strictEqual(Redacted.value(config.oidc.clientSecret), "from-the-environment")
      assert.deepStrictEqual(config.roles.orgAdmins, { people: ["grace", "linus"], groups: ["admins"] })
      assert.deepStrictEqual(config.provider, {
        kind: "k3s",
        namespacePrefix: "claw-",
        platform: { tokenProxy: { namespace: "clawfleet" } }
      })
    })
  )

  it.effect("reports every problem at once, each with its path and where it came from", () =>
    Effect.gen(function* () {
      const path = file({
        publicUrl: "http://clawfleet.example.com",
        listen: { port: 70000, backlog: 5 },
        store: { kind: "mysql" },
        oidc: { issuer: "http://login.example.com", clientId: "" },
        roles: { orgAdmins: { people: ["Ada Lovelace"] } },
        upstreams: [
          { name: "openai", dialect: "gemini", baseUrl: "ftp://models.example.com", apiKeyEnv: "UNSET_KEY" },
          { name: "openai", dialect: "openai", baseUrl: "https://api.openai.com/v1", apiKeyEnv: "not a name" }
        ],
        provider: { kind: "nomad" },
        colour: "blue"
      })
      const error = yield* failure({
        argv: ["--config", path],
        env: { CLAWFLEET_KEY_ENCRYPTION_KEY: "dG9vIHNob3J0", CLAWFLEET_OIDC_ISSUER: "not a url" }
      })
      assert.strictEqual(error._tag, "ServerConfigError")
      assert.deepStrictEqual(
        error.problems.map((p) => `${p.path}: ${p.message}`),
        [
          "colour: is not a known setting",
          "publicUrl: must be an https URL (http only on localhost)",
          "listen.backlog: is not a known setting",
          "listen.port: must be a port from 1 to 65535",
          'store: kind must be "pglite" (with dataDir) or "postgres" (with url)',
          "keyEncryptionKey (from CLAWFLEET_KEY_ENCRYPTION_KEY): must be 32 bytes, base64-encoded (openssl rand -base64 32)",
          "oidc.issuer (from CLAWFLEET_OIDC_ISSUER): must be an https URL",
          "oidc.clientId: must not be empty",
          "oidc.clientSecret: is required",
          "roles.orgAdmins.people[0]: must be a DNS label: lower-case letters, digits and -, at most 63",
          'upstreams[0].dialect: must be "openai" or "anthropic"',
          "upstreams[0].baseUrl: must be an http or https URL",
          "upstreams[1].apiKeyEnv: must be an environment variable name",
          'provider.kind: must be "local", "k3s" or "gke"',
          "upstreams[0].apiKeyEnv: the variable UNSET_KEY is not set",
          'upstreams[1].name: "openai" names another upstream too'
        ]
      )
      expect(error.message).toMatch(
        /^invalid server configuration \(config file .*file-\d+\.json and the environment\), 16 problems:\n {2}colour: /
      )
    })
  )

  it.effect("says what is missing when there is no file and no key at all", () =>
    Effect.gen(function* () {
      const error = yield* failure({ argv: [], env: {} })
      assert.deepStrictEqual(
        error.problems.map((p) => `${p.path}: ${p.message}`),
        [
          "keyEncryptionKey: is required: set CLAWFLEET_KEY_ENCRYPTION_KEY, or name a file with keyEncryptionKeyFile or CLAWFLEET_KEY_ENCRYPTION_KEY_FILE",
          "publicUrl: is required",
          "oidc: is required"
        ]
      )
      assert.include(error.message, "(the environment, no config file)")
    })
  )

  it.effect("reports files it cannot read or parse, and a key written into the file", () =>
    Effect.gen(function* () {
      const noPath = yield* failure({ argv: ["--config"], env })
      assert.deepStrictEqual(noPath.problems[0], { path: "(command line)", message: "--config needs the path of a JSON file" })
      const missing = yield* failure({ argv: ["--config", join(dir, "nowhere.json")], env })
      assert.match(missing.problems[0]!.message, /^cannot read .*nowhere\.json \(ENOENT\)$/)
      const broken = yield* failure({ argv: ["--config", file('{\n  "publicUrl": "https://x.example.com",\n  oops\n}')], env })
      assert.match(broken.problems[0]!.message, /file-\d+\.json is not valid JSON \(line 3, column 3\)$/)
      const inline = yield* failure({ argv: ["--config", file({ ...minimal, keyEncryptionKey: KEY })], env })
      assert.deepStrictEqual(
        inline.problems.map((p) => p.path),
        ["keyEncryptionKey (in the config file)"]
      )
      assert.notInclude(inline.message, KEY)
      const keyFile = yield* failure({
        argv: ["--config", file(minimal)],
        env: { ...env, CLAWFLEET_KEY_ENCRYPTION_KEY: "", CLAWFLEET_KEY_ENCRYPTION_KEY_FILE: join(dir, "no-key") }
      })
      assert.deepStrictEqual(
        keyFile.problems.map((p) => `${p.path}: ${p.message.replace(dir, "<dir>")}`),
        ["CLAWFLEET_KEY_ENCRYPTION_KEY_FILE: cannot read <dir>/no-key (ENOENT)"]
      )
    })
  )

  it("never puts a secret value into the error, whatever else is wrong", async () => {
    const secret = fc.string({
      minLength: 8,
      maxLength: 40,
      unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=_-.~")
    })
    await fc.assert(
      fc.asyncProperty(
        secret,
        secret,
        secret,
        secret,
        fc.constantFrom("json", "broken", "bare"),
        async (clientSecret, key, password, apiKey, form) => {
          const config = {
            publicUrl: "ftp://nope",
            store: { kind: "postgres", url: `mysql://user:${password}@db/clawfleet` },
            oidc: { issuer: "https://login.example.com", clientId: "", clientSecret },
            upstreams: [{ name: "Bad Name", dialect: "openai", baseUrl: "https://x.example.com", apiKeyEnv: "MODEL_KEY" }]
          }
          // Syntax errors next to a secret: JSON.parse quotes the text around some of them.
          const text =
            form === "json"
              ? JSON.stringify(config)
              : form === "broken"
                ? JSON.stringify(config).replace(`"clientSecret":"${clientSecret}"`, `"clientSecret":"${clientSecret}" x`)
                : `${clientSecret}\n`
          const error: ServerConfigError = await Effect.runPromise(
            failure({
              argv: ["--config", file(text)],
              env: { CLAWFLEET_KEY_ENCRYPTION_KEY: key, MODEL_KEY: apiKey, CLAWFLEET_OIDC_CLIENT_SECRET: clientSecret }
            })
          )
          for (const s of [clientSecret, key, password, apiKey]) {
            expect(error.message).not.toContain(s)
            expect(JSON.stringify(error.problems)).not.toContain(s)
          }
        }
      ),
      { numRuns: 150 }
    )
  })

  it.effect("gives the platform services and the reconciler defaults, and takes them from variables", () =>
    Effect.gen(function* () {
      const defaults = yield* load({ argv: ["--config", file(minimal)], env })
      assert.deepStrictEqual(defaults.tokenProxy, { port: 8081 })
      assert.deepStrictEqual(defaults.egressProxy, { port: 8082 })
      assert.deepStrictEqual(defaults.tools, { port: 8083 })
      assert.deepStrictEqual(defaults.reconciler, { concurrency: 16 })
      const config = yield* load({
        argv: ["--config", file({ ...minimal, tools: { port: 9003, url: "http://tools.clawfleet.svc:9003" } })],
        env: {
          ...env,
          CLAWFLEET_TOKEN_PROXY_PORT: "9001",
          CLAWFLEET_TOKEN_PROXY_URL: "http://token-proxy.clawfleet.svc:9001",
          CLAWFLEET_EGRESS_PROXY_PORT: "9002",
          CLAWFLEET_RECONCILER_CONCURRENCY: "4"
        }
      })
      assert.deepStrictEqual(config.tokenProxy, { port: 9001, url: "http://token-proxy.clawfleet.svc:9001" })
      assert.deepStrictEqual(config.egressProxy, { port: 9002 })
      assert.deepStrictEqual(config.tools, { port: 9003, url: "http://tools.clawfleet.svc:9003" })
      assert.deepStrictEqual(config.reconciler, { concurrency: 4 })
    })
  )

  it.effect("refuses two listeners on one port, a bad service URL and a concurrency out of range", () =>
    Effect.gen(function* () {
      const error = yield* failure({
        argv: ["--config", file({ ...minimal, listen: { port: 9000 }, tools: { port: 9000 } })],
        env: { ...env, CLAWFLEET_EGRESS_PROXY_PORT: "8081" }
      })
      assert.deepStrictEqual(
        error.problems.map((p) => p.path),
        ["egressProxy.port (from CLAWFLEET_EGRESS_PROXY_PORT)", "tools.port"]
      )
      assert.include(error.problems[1]!.message, "listen.port")
      const invalid = yield* failure({
        argv: ["--config", file({ ...minimal, tokenProxy: { url: "ftp://x" }, reconciler: { concurrency: 0 } })],
        env: { ...env, CLAWFLEET_TOOLS_PORT: "0" }
      })
      assert.sameMembers(
        invalid.problems.map((p) => p.path),
        ["tokenProxy.url", "tools.port (from CLAWFLEET_TOOLS_PORT)", "reconciler.concurrency"]
      )
    })
  )

  it("makes administrators of the people and groups the roles name, never of a disabled person", () => {
    const admin = isOrgAdmin({ orgAdmins: { people: ["ada"], groups: ["platform"] }, teamAdminGroupPrefix: "t-" })
    const person = (id: string, groups: ReadonlyArray<string>, disabled = false) =>
      Schema.decodeUnknownSync(Person)({ id, email: `${id}@example.com`, displayName: id, groups, disabled })
    assert.isTrue(admin(person("ada", [])))
    assert.isTrue(admin(person("grace", ["platform"])))
    assert.isFalse(admin(person("linus", ["t-platform"])))
    assert.isFalse(admin(person("ada", [], true)))
  })
})
