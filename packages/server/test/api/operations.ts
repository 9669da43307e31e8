import { packSkillBundle, skillBundleDigest } from "@clawfleet/core"
import { Effect, Result } from "effect"
import { type Fixture, type Response, SAMPLES, type Who } from "./support.ts"

/** One operation of the served OpenAPI document. */
export interface Operation {
  readonly id: string
  readonly method: string
  /** As the document writes it: `/api/v1/people/{id}`. */
  readonly template: string
  readonly pathParams: ReadonlyArray<string>
  readonly queryParams: ReadonlyArray<string>
  readonly headerParams: ReadonlyArray<string>
  readonly hasBody: boolean
  readonly raw: any
}

export const readSpec = (fixture: Fixture) =>
  Effect.map(fixture.request("GET", "/openapi.json"), (r) => {
    if (r.status !== 200) throw new Error(`GET /openapi.json answered ${r.status}`)
    return r.json as any
  })

export const operationsOf = (spec: any): ReadonlyArray<Operation> =>
  Object.entries(spec.paths as Record<string, Record<string, any>>).flatMap(([template, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const params = (op.parameters ?? []) as ReadonlyArray<{ name: string; in: string }>
      const of = (where: string) => params.filter((p) => p.in === where).map((p) => p.name)
      return {
        id: op.operationId as string,
        method: method.toUpperCase(),
        template,
        pathParams: of("path"),
        queryParams: of("query"),
        headerParams: of("header"),
        hasBody: op.requestBody !== undefined,
        raw: op
      }
    })
  )

/** Whose records an operation is sent about, and the ids of what the fixture created (`Seeded`). */
export interface Ids {
  readonly person: string
  readonly tenant: string
  readonly grant?: string | undefined
  readonly digest?: string | undefined
  /** The token of `person`. */
  readonly token?: string | undefined
}

/**
 * Fills each path parameter by the collection it follows: `/people/{id}` with the person,
 * `/tenants/{name}` with the tenant, `/models/{name}` with the fixture's model, and so on. Ids the
 * caller does not know (a fixture's grant) fall back to well-formed ids of nothing.
 */
const valueFor = (collection: string, ids: Ids): string | undefined => {
  switch (collection) {
    case "people":
      return ids.person
    case "tenants":
      return ids.tenant
    case "grants":
      return ids.grant ?? "00000000-0000-4000-8000-000000000000"
    case "bundles":
      return ids.digest ?? `sha256:${"0".repeat(64)}`
    case "tokens":
      return ids.token ?? "0".repeat(64)
    default:
      return collection in SAMPLES ? SAMPLES[collection as keyof typeof SAMPLES] : undefined
  }
}

export const pathOf = (op: Operation, ids: Ids) =>
  op.template.replace(/([\w-]+)\/\{(\w+)\}/g, (_, collection: string, param: string) => {
    const value = valueFor(collection, ids)
    if (value === undefined) throw new Error(`no value for the path parameter {${param}} of ${op.id}: teach operations.ts about it`)
    return `${collection}/${value}`
  })

/** Does a concrete path fall under a template (`/grants/explain` under `/grants/{id}`)? */
export const matchesTemplate = (template: string, path: string) => new RegExp(`^${template.replace(/\{\w+\}/g, "[^/]+")}$`).test(path)

/**
 * The query of an operation whose query has required members, per operation. An operation with a
 * required query member and no entry here fails the walk.
 */
export const sampleQueries: Record<string, (ids: Ids) => string> = {
  "grants.explain": (ids) => `person=${ids.person}&kind=model&name=${SAMPLES.models}`
}

export const queryOf = (op: Operation, ids: Ids): string => {
  const required = (op.raw.parameters ?? []).some((p: { in: string; required?: boolean }) => p.in === "query" && p.required === true)
  if (op.id in sampleQueries) return `?${sampleQueries[op.id]!(ids)}`
  if (required) throw new Error(`no sample query for ${op.id}: add one to sampleQueries in operations.ts`)
  return ""
}

/** A valid skill bundle, other than the fixture's. */
export const sampleBundle: Uint8Array = Result.getOrThrow(
  packSkillBundle([{ path: "SKILL.md", content: "# Writer\n\nWrites better.\n" }]) as Result.Result<Uint8Array, unknown>
)

/**
 * A minimal valid body per operation. An operation with a body and no entry here fails the
 * walk, so whoever adds one also says what a valid request looks like.
 */
export const sampleBodies: Record<string, unknown> = {
  "people.create": { person: { id: "newcomer", email: "newcomer@example.com", displayName: "Newcomer", team: "platform" }, tenant: false },
  "people.update": { displayName: "Renamed" },
  "teams.create": { id: "research", displayName: "Research", department: "engineering" },
  "departments.create": { id: "sales", displayName: "Sales" },
  "tenants.create": { name: "second", spec: { owner: "mia" } },
  "tenants.update": { budget: { monthlyUsd: 10 } },
  "models.put": { name: SAMPLES.models, upstream: "openai", inputUsdPerMTok: 2 },
  "tools.put": { name: SAMPLES.tools, url: "https://tools.example.com/mcp", credentialMode: "per-person" },
  "egressDomains.put": { name: SAMPLES["egress-domains"], description: "The example API" },
  "knowledgeBases.put": { name: SAMPLES["knowledge-bases"], displayName: "The handbook" },
  "skills.put": { name: SAMPLES.skills, version: "1.0.1", digest: skillBundleDigest(sampleBundle) },
  "skills.putBundle": { bytes: Buffer.from(sampleBundle).toString("base64") },
  "tokens.create": { scopes: ["tenants:read"], expiresInDays: 1, label: "walk" },
  "grants.create": { subject: { kind: "team", id: "platform" }, resource: { kind: "tool", name: SAMPLES.tools }, effect: "allow" }
}

export const bodyOf = (op: Operation): unknown => {
  if (!op.hasBody) return undefined
  if (!(op.id in sampleBodies)) throw new Error(`no sample body for ${op.id}: add one to sampleBodies in operations.ts`)
  return sampleBodies[op.id]
}

/** The ids of `person`, `tenant` and what this fixture seeded. */
export const idsIn = (fixture: Fixture, ids: Ids): Ids => ({
  ...ids,
  grant: fixture.seeded?.grant,
  digest: fixture.seeded?.digest,
  token: fixture.seeded?.tokens[ids.person]
})

/** Sends the operation with a valid request (If-Match: * where it is asked for). */
export const send = (
  fixture: Fixture,
  op: Operation,
  ids: Ids,
  auth: { readonly as?: Who; readonly token?: string; readonly headers?: Record<string, string> }
): Effect.Effect<Response> =>
  fixture.request(op.method, pathOf(op, idsIn(fixture, ids)) + queryOf(op, idsIn(fixture, ids)), {
    ...auth,
    body: bodyOf(op),
    headers: { ...(op.headerParams.includes("if-match") ? { "if-match": "*" } : {}), ...auth.headers }
  })

export const isProblem = (r: Response) =>
  r.headers.get("content-type")?.startsWith("application/problem+json") === true &&
  typeof r.json?.type === "string" &&
  typeof r.json?.title === "string" &&
  r.json?.status === r.status &&
  typeof r.json?.detail === "string" &&
  r.json.detail.length > 0

/** The router's own 404: no operation at that method and path (a missing record is another 404). */
export const isNoSuchOperation = (r: Response) => r.status === 404 && String(r.json?.detail).startsWith("no operation")
