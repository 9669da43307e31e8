import { Effect } from "effect"
import type { Fixture, Response, Who } from "./support.ts"

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

/** Fills `{id}` with a person's id and `{name}` with a tenant's name. */
export const pathOf = (op: Operation, ids: { readonly person: string; readonly tenant: string }) =>
  op.template.replace(/\{(\w+)\}/g, (_, param: string) => {
    if (param === "id") return ids.person
    if (param === "name") return ids.tenant
    throw new Error(`no value for the path parameter {${param}} of ${op.id}: teach operations.ts about it`)
  })

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
  "tenants.update": { budget: { monthlyUsd: 10 } }
}

export const bodyOf = (op: Operation): unknown => {
  if (!op.hasBody) return undefined
  if (!(op.id in sampleBodies)) throw new Error(`no sample body for ${op.id}: add one to sampleBodies in operations.ts`)
  return sampleBodies[op.id]
}

/** Sends the operation with a valid request (If-Match: * where it is asked for). */
export const send = (
  fixture: Fixture,
  op: Operation,
  ids: { readonly person: string; readonly tenant: string },
  auth: { readonly as?: Who; readonly token?: string; readonly headers?: Record<string, string> }
): Effect.Effect<Response> =>
  fixture.request(op.method, pathOf(op, ids), {
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
