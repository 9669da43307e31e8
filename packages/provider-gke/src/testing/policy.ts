/** The IAM policy model both fakes store: bindings of roles to members, optionally conditional. */

export interface PolicyCondition {
  readonly expression: string
  readonly title?: string
  readonly description?: string
}

export interface PolicyBinding {
  readonly role: string
  readonly members: ReadonlyArray<string>
  readonly condition?: PolicyCondition
}

export interface IamPolicy {
  readonly version: number
  readonly etag: string
  readonly bindings: ReadonlyArray<PolicyBinding>
}

/** A policy without its etag: what a test's `editPolicy` change works on. */
export interface PolicyDraft {
  version: number
  bindings: Array<PolicyBinding>
}

const ROLE = /^(roles\/[A-Za-z0-9_.]+|(projects|organizations)\/[a-z0-9_.:-]+\/roles\/[A-Za-z0-9_.]+)$/
const EMAIL = /^[^\s@:]+@[^\s@:]+\.[^\s@:]+$/
// serviceAccount:PROJECT.svc.id.goog[NAMESPACE/KSA], Workload Identity's Kubernetes service accounts.
export const WORKLOAD_IDENTITY_MEMBER = /^serviceAccount:([a-z0-9.:-]+\.svc\.id\.goog)\[([a-z0-9-]+)\/([a-z0-9.-]+)\]$/

const validMember = (member: string): boolean => {
  if (member === "allUsers" || member === "allAuthenticatedUsers") return true
  if (WORKLOAD_IDENTITY_MEMBER.test(member)) return true
  const [kind, ...rest] = member.split(":")
  const value = rest.join(":")
  switch (kind) {
    case "user":
    case "group":
    case "serviceAccount":
      return EMAIL.test(value)
    case "domain":
      return /^[a-z0-9.-]+\.[a-z]+$/i.test(value)
    case "projectOwner":
    case "projectEditor":
    case "projectViewer":
      return /^[a-z0-9:.-]+$/.test(value)
    case "principal":
    case "principalSet":
      return value.startsWith("//")
    case "deleted":
      return value.length > 0
    default:
      return false
  }
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined)

/**
 * The bindings of a policy as a client sent them: checked for shape, roles and member forms, with
 * bindings that have no members dropped and members deduplicated, as IAM stores them.
 */
export const parseBindings = (input: unknown, invalid: (message: string) => never): Array<PolicyBinding> => {
  if (input === undefined || input === null) return []
  if (!Array.isArray(input)) return invalid("Invalid JSON payload: 'bindings' must be a list.")
  const out: Array<PolicyBinding> = []
  for (const raw of input as ReadonlyArray<unknown>) {
    if (typeof raw !== "object" || raw === null) return invalid("Invalid JSON payload: a binding must be an object.")
    const b = raw as Record<string, unknown>
    const role = str(b.role)
    if (role === undefined || !ROLE.test(role)) return invalid(`Role ${String(b.role)} is not a valid role name.`)
    const members = b.members ?? []
    if (!Array.isArray(members) || members.some((m) => typeof m !== "string"))
      return invalid(`The members of ${role} must be a list of strings.`)
    for (const m of members as ReadonlyArray<string>) if (!validMember(m)) return invalid(`Invalid member: ${m}`)
    let condition: PolicyCondition | undefined
    if (b.condition !== undefined && b.condition !== null) {
      const c = b.condition as Record<string, unknown>
      const expression = str(c.expression)
      if (expression === undefined || expression.trim() === "") return invalid(`The condition of ${role} needs an expression.`)
      const title = str(c.title)
      const description = str(c.description)
      condition = { expression, ...(title === undefined ? {} : { title }), ...(description === undefined ? {} : { description }) }
    }
    const unique = [...new Set(members as ReadonlyArray<string>)]
    if (unique.length > 0) out.push({ role, members: unique, ...(condition === undefined ? {} : { condition }) })
  }
  return out
}

export const hasConditions = (bindings: ReadonlyArray<PolicyBinding>) => bindings.some((b) => b.condition !== undefined)

/** The version a policy is stored with: 3 when a binding is conditional (which needs 3), else what was asked, 1 by default. */
export const storedVersion = (requested: unknown, bindings: ReadonlyArray<PolicyBinding>, invalid: (message: string) => never): number => {
  const version = requested === undefined || requested === null ? 1 : Number(requested)
  if (![0, 1, 3].includes(version)) return invalid(`Invalid policy version ${String(requested)}: it must be 1 or 3.`)
  if (hasConditions(bindings)) return version === 3 ? 3 : invalid("Policies with conditional role bindings must set version 3.")
  return Math.max(version, 1)
}

/** The requested policy version of a read (default 1), refused below 3 when the policy has conditions. */
export const readVersion = (requested: string | null, bindings: ReadonlyArray<PolicyBinding>, invalid: (message: string) => never) => {
  const version = requested === null || requested === "" ? 1 : Number(requested)
  if (![0, 1, 3].includes(version)) return invalid(`Invalid requested policy version ${requested}: it must be 1 or 3.`)
  if (hasConditions(bindings) && version < 3)
    return invalid("The policy has conditional role bindings: request policy version 3 to read it.")
  return version
}

export const draftOf = (version: number, bindings: ReadonlyArray<PolicyBinding>): PolicyDraft => ({
  version,
  bindings: structuredClone([...bindings])
})

/** Applies a test's edit to a copy of a policy and checks the result as a client write would be. */
export const applyEdit = (
  version: number,
  bindings: ReadonlyArray<PolicyBinding>,
  // biome-ignore lint/suspicious/noConfusingVoidType: edits mostly change the draft in place and return nothing.
  change: (draft: PolicyDraft) => PolicyDraft | void
): { version: number; bindings: Array<PolicyBinding> } => {
  const draft = draftOf(version, bindings)
  const next = change(draft) ?? draft
  const invalid = (message: string): never => {
    throw new Error(`editPolicy: ${message}`)
  }
  const parsed = parseBindings(next.bindings, invalid)
  return { version: storedVersion(next.version, parsed, invalid), bindings: parsed }
}
