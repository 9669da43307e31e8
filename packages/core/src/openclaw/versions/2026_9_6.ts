import type { JsonSchema, JsonSchemaObject } from "../JsonSchema.ts"

/**
 * The part of OpenClaw 2026.9.6's `openclaw config schema` that covers every key clawfleet emits,
 * titles and descriptions dropped. Extracted, not written: the integration test re-extracts it
 * from the installed OpenClaw (`extractSchemaSubset` in test/support/openclaw.ts) and fails when
 * this file differs, so it cannot drift from the real schema. `required` keeps only keys clawfleet
 * emits; the ones it drops have defaults in OpenClaw (its printed schema is the parsed output).
 */

const constants = (...values: ReadonlyArray<string>): JsonSchemaObject => ({
  anyOf: values.map((value) => ({ type: "string", const: value }))
})
const choice = (fallback: string, values: ReadonlyArray<string>): JsonSchemaObject => ({ default: fallback, type: "string", enum: values })

const provider = { type: "string", pattern: "^[a-z][a-z0-9_-]{0,63}$" } as const
const envName = { type: "string", pattern: "^[A-Z][A-Z0-9_]{0,127}$" } as const
const ref = (source: string, id: JsonSchemaObject): JsonSchemaObject => ({
  type: "object",
  properties: { source: { type: "string", const: source }, provider, id },
  required: ["source", "provider", "id"],
  additionalProperties: false
})
const secretRefs = {
  env: ref("env", envName),
  file: ref("file", { type: "string" }),
  exec: ref("exec", { type: "string" }),
  store: ref("store", envName)
}
/** A plain string or a SecretRef; core fields list the sources in this order... */
const secretInput: JsonSchemaObject = {
  anyOf: [{ type: "string" }, { oneOf: [secretRefs.env, secretRefs.file, secretRefs.exec, secretRefs.store] }]
}
/** ...and channel plugins in this one. */
const channelSecretInput: JsonSchemaObject = {
  anyOf: [{ type: "string" }, { oneOf: [secretRefs.env, secretRefs.store, secretRefs.file, secretRefs.exec] }]
}

const strict = (properties: Record<string, JsonSchema>, required?: ReadonlyArray<string>): JsonSchemaObject => ({
  type: "object",
  properties,
  ...(required ? { required } : {}),
  additionalProperties: false
})
const map = (values: JsonSchema): JsonSchemaObject => ({ type: "object", propertyNames: { type: "string" }, additionalProperties: values })
const strings: JsonSchemaObject = { type: "array", items: { type: "string" } }
const dmPolicy = choice("pairing", ["pairing", "allowlist", "open", "disabled"])
const groupPolicy = choice("allowlist", ["open", "disabled", "allowlist"])

export const schema: JsonSchema = strict({
  gateway: strict({
    mode: constants("local", "remote"),
    bind: constants("auto", "lan", "loopback", "custom", "tailnet"),
    port: { type: "integer", minimum: 1, maximum: 65535 },
    auth: strict({ mode: constants("none", "token", "password", "trusted-proxy"), token: secretInput })
  }),
  models: strict({
    mode: constants("merge", "replace"),
    providers: map(
      strict({
        baseUrl: { type: "string" },
        api: {
          type: "string",
          enum: [
            "openai-completions",
            "openai-responses",
            "openai-chatgpt-responses",
            "anthropic-messages",
            "google-generative-ai",
            "google-vertex",
            "github-copilot",
            "bedrock-converse-stream",
            "ollama",
            "pi-messages",
            "azure-openai-responses"
          ]
        },
        apiKey: secretInput,
        models: {
          type: "array",
          items: strict({ id: { type: "string", minLength: 1 }, name: { type: "string", minLength: 1 } }, ["id", "name"])
        }
      })
    )
  }),
  agents: strict({
    defaults: strict({
      model: { anyOf: [{ type: "string" }, strict({ primary: { type: "string" } })] },
      modelPolicy: strict({ allow: strings })
    })
  }),
  skills: strict({ load: strict({ extraDirs: strings }) }),
  mcp: strict({
    servers: map({
      type: "object",
      properties: {
        url: { type: "string", format: "uri" },
        transport: constants("stdio", "sse", "streamable-http"),
        // Plain values only: no SecretRef here in this version, hence `${VAR}` substitution.
        headers: map({ type: ["string", "number", "boolean"] })
      },
      // The one open object on our path: unknown keys of a server entry are accepted.
      additionalProperties: {}
    })
  }),
  proxy: strict({ proxyUrl: { type: "string", format: "uri" } }),
  channels: {
    type: "object",
    properties: {
      telegram: strict(
        {
          enabled: { type: "boolean" },
          botToken: channelSecretInput,
          dmPolicy,
          allowFrom: { type: "array", items: { type: ["string", "number"] } },
          groupPolicy
        },
        ["dmPolicy", "groupPolicy"]
      ),
      slack: strict(
        {
          enabled: { type: "boolean" },
          mode: choice("socket", ["socket", "http", "relay"]),
          botToken: channelSecretInput,
          appToken: channelSecretInput,
          dmPolicy,
          groupPolicy
        },
        ["dmPolicy", "groupPolicy", "mode"]
      )
    },
    // Channel plugins add their own keys.
    additionalProperties: true
  }
})
