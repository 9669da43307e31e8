import { fail, page, pageToken } from "./http.ts"
import {
  applyEdit,
  type IamPolicy,
  type PolicyBinding,
  type PolicyDraft,
  parseBindings,
  readVersion,
  storedVersion,
  WORKLOAD_IDENTITY_MEMBER
} from "./policy.ts"

/** What the IAM fake stores, and the service-account operations of IAM v1 on it. */

/** A service account as IAM v1 returns it. */
export interface ServiceAccount {
  /** `projects/PROJECT/serviceAccounts/EMAIL`. */
  readonly name: string
  readonly projectId: string
  readonly uniqueId: string
  readonly email: string
  readonly displayName?: string
  readonly description?: string
  readonly etag: string
  readonly oauth2ClientId: string
}

export interface AccountRecord {
  account: ServiceAccount
  policyVersion: number
  bindings: Array<PolicyBinding>
  policyEtag: string
}

const invalid = (message: string): never => fail(400, message, { status: "INVALID_ARGUMENT" })
const notFound = (): never => fail(404, "Unknown service account", { status: "NOT_FOUND" })

const ACCOUNT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/
// The roles a service account's own policy can grant: the basic ones, IAM's and custom roles.
const SA_ROLE = /^(roles\/(owner|editor|viewer)|roles\/iam\.[A-Za-z0-9_.]+|(projects|organizations)\/[^/]+\/roles\/[A-Za-z0-9_.]+)$/
/** The etag IAM gives a policy that was never set. */
export const EMPTY_POLICY_ETAG = "ACAB"

export class IamState {
  readonly maxPageSize: number
  /** Workload identity pools that exist, or undefined for any. */
  readonly pools: ReadonlySet<string> | undefined
  private readonly accounts = new Map<string, AccountRecord>()
  private lastId = 0
  private lastEtag = 0

  constructor(maxPageSize: number, pools: ReadonlyArray<string> | undefined) {
    this.maxPageSize = maxPageSize
    this.pools = pools === undefined ? undefined : new Set(pools)
  }

  all(): ReadonlyArray<ServiceAccount> {
    return [...this.accounts.values()].map((r) => r.account).sort((a, b) => (a.email < b.email ? -1 : 1))
  }

  find(email: string): AccountRecord | undefined {
    return this.accounts.get(email)
  }

  /** The account `projects/PROJECT/serviceAccounts/ID` names: ID is its email or unique id, PROJECT its project or "-". */
  resolve(project: string, id: string): AccountRecord {
    const r = this.accounts.get(id) ?? [...this.accounts.values()].find((x) => x.account.uniqueId === id)
    if (r === undefined || (project !== "-" && project !== r.account.projectId)) return notFound()
    return r
  }

  create(project: string, body: { readonly [key: string]: unknown }): ServiceAccount {
    if (project === "-" || project === "") return invalid("A service account must be created in a named project.")
    const accountId = body.accountId
    if (typeof accountId !== "string" || !ACCOUNT_ID.test(accountId)) {
      return invalid(
        `Invalid form of account ID ${String(accountId)}. Should be [Regex of [a-z]([-a-z0-9]*[a-z0-9]) with 6-30 characters].`
      )
    }
    const spec = (typeof body.serviceAccount === "object" && body.serviceAccount !== null ? body.serviceAccount : {}) as {
      readonly [key: string]: unknown
    }
    const email = `${accountId}@${project}.iam.gserviceaccount.com`
    if (this.accounts.has(email)) {
      return fail(409, `Service account ${accountId} already exists within project projects/${project}.`, { status: "ALREADY_EXISTS" })
    }
    const uniqueId = String(100_000_000_000_000_000_000n + BigInt(++this.lastId))
    const account: ServiceAccount = {
      name: `projects/${project}/serviceAccounts/${email}`,
      projectId: project,
      uniqueId,
      email,
      ...this.describe(spec),
      etag: "MDEwMjE5MjA=",
      oauth2ClientId: uniqueId
    }
    this.accounts.set(email, { account, policyVersion: 1, bindings: [], policyEtag: EMPTY_POLICY_ETAG })
    return account
  }

  private describe(spec: { readonly [key: string]: unknown }) {
    const out: { displayName?: string; description?: string } = {}
    if (spec.displayName !== undefined) {
      if (typeof spec.displayName !== "string" || spec.displayName.length > 100) invalid("The display name must be at most 100 characters.")
      out.displayName = String(spec.displayName)
    }
    if (spec.description !== undefined) {
      if (typeof spec.description !== "string" || spec.description.length > 256) invalid("The description must be at most 256 characters.")
      out.description = String(spec.description)
    }
    return out
  }

  patch(r: AccountRecord, body: { readonly [key: string]: unknown }): ServiceAccount {
    const mask = typeof body.updateMask === "string" ? body.updateMask.split(",").map((f) => f.trim()) : []
    if (mask.length === 0) return invalid("Field updateMask is required.")
    const unknown = mask.find((f) => f !== "displayName" && f !== "description")
    if (unknown !== undefined) return invalid(`Field ${unknown} of the service account cannot be updated.`)
    const spec = (typeof body.serviceAccount === "object" && body.serviceAccount !== null ? body.serviceAccount : {}) as {
      readonly [key: string]: unknown
    }
    const given = this.describe(spec)
    const { displayName, description, ...rest } = r.account
    const next = { ...rest, ...(displayName === undefined ? {} : { displayName }), ...(description === undefined ? {} : { description }) }
    for (const field of mask) {
      const value = given[field as "displayName" | "description"]
      if (value === undefined || value === "") delete next[field as "displayName" | "description"]
      else next[field as "displayName" | "description"] = value
    }
    r.account = next
    return next
  }

  remove(r: AccountRecord): void {
    this.accounts.delete(r.account.email)
  }

  list(project: string, params: URLSearchParams) {
    const size = Number(params.get("pageSize") ?? 20)
    if (!Number.isInteger(size) || size < 0) invalid(`Invalid page size: ${params.get("pageSize")}`)
    const after = pageToken.decode(params.get("pageToken"), () => invalid("Invalid page token."))
    const accounts = this.all().filter((a) => project === "-" || a.projectId === project)
    return page(accounts, (a) => a.email, after, Math.min(size === 0 ? 20 : size, this.maxPageSize))
  }

  policy(r: AccountRecord, requestedVersion: string | null): IamPolicy {
    readVersion(requestedVersion, r.bindings, invalid)
    return { version: r.policyVersion, etag: r.policyEtag, bindings: structuredClone(r.bindings) }
  }

  setPolicy(r: AccountRecord, policy: unknown): IamPolicy {
    if (typeof policy !== "object" || policy === null) return invalid("Field policy is required.")
    const p = policy as { readonly [key: string]: unknown }
    if (typeof p.etag === "string" && p.etag !== "" && p.etag !== r.policyEtag) {
      fail(409, "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.", {
        status: "ABORTED"
      })
    }
    const bindings = parseBindings(p.bindings, invalid)
    const version = storedVersion(p.version, bindings, invalid)
    this.check(bindings)
    this.store(r, version, bindings)
    return this.policy(r, "3")
  }

  private check(bindings: ReadonlyArray<PolicyBinding>) {
    for (const b of bindings) {
      if (!SA_ROLE.test(b.role)) invalid(`Role ${b.role} is not supported for this resource.`)
      for (const m of b.members) {
        const pool = WORKLOAD_IDENTITY_MEMBER.exec(m)?.[1]
        if (pool !== undefined && this.pools !== undefined && !this.pools.has(pool)) invalid(`Identity Pool does not exist (${pool}).`)
      }
    }
  }

  private store(r: AccountRecord, version: number, bindings: Array<PolicyBinding>) {
    r.bindings = bindings
    r.policyVersion = version
    const bytes = Buffer.alloc(8)
    bytes.writeUInt16BE(0x0706, 0)
    bytes.writeUIntBE(++this.lastEtag, 2, 6)
    r.policyEtag = bytes.toString("base64")
  }

  // biome-ignore lint/suspicious/noConfusingVoidType: edits mostly change the draft in place and return nothing.
  editPolicy(r: AccountRecord, change: (draft: PolicyDraft) => PolicyDraft | void): IamPolicy {
    const next = applyEdit(r.policyVersion, r.bindings, change)
    this.store(r, next.version, next.bindings)
    return this.policy(r, "3")
  }
}
