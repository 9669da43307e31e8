import { DnsLabel, DomainPattern, EgressDomain, KnowledgeBase, Model, ModelName, Sha256Digest, Skill, Tool } from "@clawfleet/core"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { etagHeader, ifMatchHeader } from "./ETag.ts"
import { Page, pageQuery } from "./Paging.ts"
import { commonProblems, PreconditionFailed } from "./Problems.ts"
import { Scopes } from "./Roles.ts"
import { access, everyone, orgAdmins } from "./Security.ts"

/**
 * The catalog: what can be granted, one collection per kind. Everyone signed in may read it (an
 * assistant's owner wants to know what exists); only org administrators change it. `PUT` adds an
 * item or replaces the one of that name: the body names the item and must match the path. With
 * `If-Match` a replacement (or a delete) happens only if the item is still at that ETag.
 */
const catalogGroup = <const Id extends string, const Collection extends string, S extends Schema.Top, N extends Schema.Top>(
  id: Id,
  collection: Collection,
  item: S,
  name: N,
  description: string
) => {
  const params = { name }
  const withETag = HttpApiSchema.WithHeaders(item, etagHeader)
  return HttpApiGroup.make(id)
    .add(
      HttpApiEndpoint.get("list", `/${collection}`, { query: pageQuery, success: Page(item), error: commonProblems }).pipe(
        access(everyone, Scopes.catalogRead)
      ),
      HttpApiEndpoint.get("get", `/${collection}/:name`, { params, success: withETag, error: commonProblems }).pipe(
        access(everyone, Scopes.catalogRead)
      ),
      HttpApiEndpoint.put("put", `/${collection}/:name`, {
        params,
        headers: ifMatchHeader,
        payload: item,
        success: withETag,
        error: [...commonProblems, PreconditionFailed]
      }).pipe(access(orgAdmins, Scopes.catalogWrite)),
      HttpApiEndpoint.delete("delete", `/${collection}/:name`, {
        params,
        headers: ifMatchHeader,
        success: HttpApiSchema.NoContent,
        error: [...commonProblems, PreconditionFailed]
      }).pipe(access(orgAdmins, Scopes.catalogWrite))
    )
    .annotateMerge(OpenApi.annotations({ description }))
}

export class ModelsApi extends catalogGroup("models", "models", Model, ModelName, "Models, each served by a configured upstream.") {}
export class ToolsApi extends catalogGroup("tools", "tools", Tool, DnsLabel, "MCP tools; their credentials stay with the tool broker.") {}
export class EgressDomainsApi extends catalogGroup(
  "egressDomains",
  "egress-domains",
  EgressDomain,
  DomainPattern,
  "Domains assistants may reach through the egress proxy; the pattern is the name."
) {}
export class KnowledgeBasesApi extends catalogGroup(
  "knowledgeBases",
  "knowledge-bases",
  KnowledgeBase,
  DnsLabel,
  "Knowledge bases, searched by assistants."
) {}

/** A skill bundle sent as JSON: its bytes in base64. */
export const BundleJson = Schema.Struct({ bytes: Schema.Uint8ArrayFromBase64 })

export const BundleBytes = Schema.Uint8Array.pipe(HttpApiSchema.asUint8Array({ contentType: "application/octet-stream" }))

/**
 * Skills, and their bundles by digest: upload the bundle (`PUT /skills/bundles`, as
 * `application/octet-stream` or base64 in JSON), then put the skill naming the digest returned.
 * A skill may therefore not be named `bundles`.
 */
export class SkillsApi extends catalogGroup(
  "skills",
  "skills",
  Skill,
  DnsLabel.check(Schema.makeFilter((s: string) => s !== "bundles" || "bundles is reserved for skill bundles")),
  "Skills, each pinned to a bundle by digest."
).add(
  HttpApiEndpoint.put("putBundle", "/skills/bundles", {
    payload: [BundleBytes, BundleJson],
    success: Schema.Struct({ digest: Sha256Digest }),
    error: commonProblems
  }).pipe(access(orgAdmins, Scopes.catalogWrite)),
  HttpApiEndpoint.get("getBundle", "/skills/bundles/:digest", {
    params: { digest: Sha256Digest },
    success: BundleBytes,
    error: commonProblems
  }).pipe(access(everyone, Scopes.catalogRead))
) {}
