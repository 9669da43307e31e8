import { Schema } from "effect"
import { DisplayName, DnsLabel, DomainPattern, HttpUrl, SecretRef, Sha256Digest, Text } from "./Names.ts"

/** A skill bundle (SKILL.md and files), pinned by digest so a grant means exactly these bytes. */
export class Skill extends Schema.Class<Skill>("@clawfleet/core/Skill")({
  name: DnsLabel,
  version: Schema.String.check(Schema.isPattern(/^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$/, { message: "must be a version such as 1.2.0" })),
  digest: Sha256Digest,
  description: Schema.optionalKey(Text(2000))
}) {}

/** An MCP server. Its credential stays with the tool broker and never reaches a tenant. */
export class Tool extends Schema.Class<Tool>("@clawfleet/core/Tool")({
  name: DnsLabel,
  url: HttpUrl,
  credential: Schema.optionalKey(SecretRef),
  description: Schema.optionalKey(Text(2000))
}) {}

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
