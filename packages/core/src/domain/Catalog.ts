import { Effect, Schema } from "effect"
import { DisplayName, DnsLabel, DomainPattern, HttpUrl, SecretRef, Sha256Digest, Text } from "./Names.ts"

/** A skill bundle (SKILL.md and files), pinned by digest so a grant means exactly these bytes. */
export class Skill extends Schema.Class<Skill>("@clawfleet/core/Skill")({
  name: DnsLabel,
  version: Schema.String.check(Schema.isPattern(/^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$/, { message: "must be a version such as 1.2.0" })),
  digest: Sha256Digest,
  description: Schema.optionalKey(Text(2000))
}) {}

export const CredentialMode = Schema.Literals(["shared", "per-person"])
export type CredentialMode = typeof CredentialMode.Type

/** An MCP server. Its credential stays with the tool broker and never reaches a tenant. */
export class Tool extends Schema.Class<Tool>("@clawfleet/core/Tool")(
  Schema.Struct({
    name: DnsLabel,
    url: HttpUrl,
    /**
     * "shared": every call carries `credential`, one for all. "per-person": the tool acts as the
     * person, so a call carries the token its assistant's owner connected (`PersonCredentials`).
     */
    credentialMode: CredentialMode.pipe(
      Schema.withDecodingDefaultKey(Effect.succeed("shared" as const)),
      Schema.withConstructorDefault(Effect.succeed("shared" as const))
    ),
    credential: Schema.optionalKey(SecretRef),
    description: Schema.optionalKey(Text(2000))
  }).check(
    // Two credentials would leave it to the broker to guess which one a call is meant to act as.
    Schema.makeFilter(
      (t: { readonly credentialMode: CredentialMode; readonly credential?: SecretRef }) =>
        t.credentialMode === "shared" ||
        t.credential === undefined || {
          path: ["credential"],
          issue: "must be absent for a per-person tool: each person's own token is sent"
        }
    )
  )
) {}

export class KnowledgeBase extends Schema.Class<KnowledgeBase>("@clawfleet/core/KnowledgeBase")({
  name: DnsLabel,
  displayName: DisplayName,
  description: Schema.optionalKey(Text(2000))
}) {}

/** A domain a tenant may reach through the egress proxy; the pattern is its name. */
export class EgressDomain extends Schema.Class<EgressDomain>("@clawfleet/core/EgressDomain")({
  name: DomainPattern,
  description: Schema.optionalKey(Text(2000))
}) {}

export const ModelName = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, {
    message: "must be a model name such as gpt-4.1 or claude-sonnet-4-5 (letters, digits, . _ : / -)"
  })
)

export class Model extends Schema.Class<Model>("@clawfleet/core/Model")({
  name: ModelName,
  /** The configured upstream (token proxy) that serves it. */
  upstream: DnsLabel,
  /** Prices in USD per million tokens, for budgets. */
  inputUsdPerMTok: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))),
  outputUsdPerMTok: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)))
}) {}
