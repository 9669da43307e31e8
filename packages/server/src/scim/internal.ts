import type { ApiTokens, Directory, Fleet, RecordStore, Sessions, Tenants, Tokens } from "@clawfleet/core"
import { listResponse, MAX_RESULTS } from "./discovery.ts"
import type { Json } from "./paths.ts"
import { ScimError } from "./ScimError.ts"

/** What the user and group operations are built from. */
export interface ScimDeps {
  readonly fleet: Fleet["Service"]
  readonly directory: Directory["Service"]
  readonly tenants: Tenants["Service"]
  readonly store: RecordStore["Service"]
  readonly sessions: Sessions["Service"]
  readonly tokens: Tokens["Service"]
  readonly apiTokens: ApiTokens["Service"]
  /** `<publicUrl>/scim/v2`: what `meta.location` starts with. */
  readonly base: string
  readonly teamOf: (group: string) => string | undefined
  readonly departmentOf: ((value: string) => string | undefined) | undefined
  readonly tenantPolicy: "create" | "none"
}

/** One resource in an answer: its body, and the ETag and Location headers that go with it. */
export interface ScimResource {
  readonly body: Json
  readonly version: string
  readonly location: string
}

export interface ListQuery {
  readonly filter?: string | undefined
  /** 1-based; 1 when absent. */
  readonly startIndex?: number | undefined
  /** 100 when absent; at most 1000. */
  readonly count?: number | undefined
}

/**
 * Does `If-Match` allow a write to the resource at `version`? Clients differ on whether they send
 * the weak prefix back, so both forms match.
 */
export const ifMatchAllows = (ifMatch: string | undefined, version: string): boolean => {
  if (ifMatch === undefined) return true
  const strong = version.replace(/^W\//, "")
  return ifMatch.split(",").some((tag) => {
    const t = tag.trim()
    return t === "*" || t.replace(/^W\//, "") === strong
  })
}

export const preconditionFailed = (version: string) =>
  ScimError.of(412, `the resource is at version ${version}: read it again and retry with that If-Match`)

/** A page by SCIM's rules: `startIndex` below 1 means 1, `count` is clamped to 0…1000. */
export const page = (resources: ReadonlyArray<Json>, query: ListQuery) => {
  const startIndex = Math.max(1, Math.floor(query.startIndex ?? 1))
  const count = Math.min(MAX_RESULTS, Math.max(0, Math.floor(query.count ?? 100)))
  return listResponse(resources.slice(startIndex - 1, startIndex - 1 + count), resources.length, startIndex)
}
