import { domainToASCII } from "node:url"
import type { Department, Person, Team } from "../domain/Directory.ts"
import type { Grant, Resource, ResourceKind, Subject } from "../domain/Grant.ts"
import { subjectKey } from "../domain/Grant.ts"

/** Why a check came out as it did. Deny is the default; an explicit deny beats every allow. */
export type DecisionReason = "allowed" | "denied-by-grant" | "no-grant" | "person-disabled" | "unknown-subject"

export interface Decision {
  readonly allowed: boolean
  readonly reason: DecisionReason
}

// Shared, frozen answers: the hot path allocates nothing.
const ALLOWED: Decision = Object.freeze({ allowed: true, reason: "allowed" })
const DENIED: Decision = Object.freeze({ allowed: false, reason: "denied-by-grant" })
const NO_GRANT: Decision = Object.freeze({ allowed: false, reason: "no-grant" })
const DISABLED: Decision = Object.freeze({ allowed: false, reason: "person-disabled" })
const UNKNOWN: Decision = Object.freeze({ allowed: false, reason: "unknown-subject" })

interface Entry {
  readonly deny: boolean
  /** Epoch milliseconds; Infinity when the grant never expires. */
  readonly expiresAt: number
  readonly grant: Grant
}

/** One link of the membership chain: the subject, and how the asker reaches it. */
export interface ChainLink {
  readonly subject: Subject
  readonly via: string
}

export interface MatchedGrant {
  readonly grant: Grant
  readonly through: Subject
  readonly status: "active" | "expired"
}

export interface Explanation extends Decision {
  readonly subject: Subject
  readonly resource: Resource
  readonly chain: ReadonlyArray<ChainLink>
  /** Every grant on the chain that names the resource (or a pattern covering it). */
  readonly grants: ReadonlyArray<MatchedGrant>
  /** The grant that settled it: the first active deny, else the first active allow. */
  readonly decidedBy?: Grant | undefined
}

/**
 * Names a grant may carry to cover `name`: the name itself, `*`, and for egress every suffix
 * pattern (`api.github.com` is covered by `*.github.com` and `*.com`).
 */
export const coveringNames = (kind: ResourceKind, name: string): ReadonlyArray<string> => {
  const out = [name, "*"]
  if (kind === "egress") {
    const labels = (name.startsWith("*.") ? name.slice(2) : name).split(".")
    for (let i = 1; i < labels.length; i++) out.push(`*.${labels.slice(i).join(".")}`)
  }
  return out
}

const plainHost = /^(?:\*\.)?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/

/**
 * The form egress grants are written in: lower case, no trailing dot, IDNs as punycode. Undefined
 * for anything that is not a host name (or a `*.` pattern), which is then refused.
 */
export const canonicalHost = (name: string): string | undefined => {
  if (name.length <= 253 && plainHost.test(name)) return name
  // Only host characters may reach the IDN parser: it reads URLs, and would turn
  // `evil.com/path` or `a@evil.com` into `evil.com`.
  if (name.length > 1000 || /[\s/?#@:\\%[\]\p{Cc}]/u.test(name)) return undefined
  const wildcard = name.startsWith("*.")
  const bare = (wildcard ? name.slice(2) : name).replace(/\.$/, "")
  const ascii = domainToASCII(bare)
  if (ascii === "" || ascii.length > 253) return undefined
  const host = wildcard ? `*.${ascii}` : ascii
  return plainHost.test(host) ? host : undefined
}

const KIND_INDEX: Record<ResourceKind, number> = { skill: 0, tool: 1, knowledge: 2, egress: 3, model: 4 }
const KINDS = 5
const NONE = -1
const ALLOW = 0
const DENY = 1

/**
 * An immutable index of the org graph and every grant, built once per store revision.
 *
 * The hot path is laid out for the cache, because with thousands of people a check is mostly
 * memory misses: subjects and resource names are interned to small integers, a person's chain is
 * one `Int32Array`, and all grants of one (subject, kind, name) fold into two numbers, the latest
 * expiry of its allows and of its denies (a deny is active exactly when `denyUntil > now`). The
 * grant lists themselves are kept only for `explain`.
 */
export class AccessIndex {
  // subject key -> resource kind -> resource name -> grants (for explain)
  private readonly bySubject: Map<string, Map<string, Map<string, Array<Entry>>>>
  // person id -> subject numbers from the person up to the org
  private readonly chains: Map<string, Int32Array>
  // per kind: resource name -> number (names that some grant carries)
  private readonly names: ReadonlyArray<Map<string, number>>
  // per subject number: (name number * KINDS + kind) -> slot
  private readonly slots: ReadonlyArray<Map<number, number> | undefined>
  private readonly allowUntil: Float64Array
  private readonly denyUntil: Float64Array
  // whether any egress grant carries a `*.suffix` pattern; without one, hosts need no suffix walk
  private readonly egressPatterns: boolean
  private readonly people: Map<string, Person>
  private readonly teams: Map<string, Team>
  private readonly departments: Set<string> | undefined

  private constructor(init: {
    bySubject: Map<string, Map<string, Map<string, Array<Entry>>>>
    chains: Map<string, Int32Array>
    names: ReadonlyArray<Map<string, number>>
    slots: ReadonlyArray<Map<number, number> | undefined>
    allowUntil: Float64Array
    denyUntil: Float64Array
    egressPatterns: boolean
    people: Map<string, Person>
    teams: Map<string, Team>
    departments: Set<string> | undefined
  }) {
    this.bySubject = init.bySubject
    this.chains = init.chains
    this.names = init.names
    this.slots = init.slots
    this.allowUntil = init.allowUntil
    this.denyUntil = init.denyUntil
    this.egressPatterns = init.egressPatterns
    this.people = init.people
    this.teams = init.teams
    this.departments = init.departments
  }

  static build(input: {
    readonly people: Iterable<Person>
    readonly teams: Iterable<Team>
    readonly departments?: Iterable<Department>
    readonly grants: Iterable<Grant>
  }): AccessIndex {
    const teams = new Map<string, Team>()
    for (const t of input.teams) teams.set(t.id, t)

    const subjectNumbers = new Map<string, number>()
    const subjectNumber = (key: string) => {
      let n = subjectNumbers.get(key)
      if (n === undefined) subjectNumbers.set(key, (n = subjectNumbers.size))
      return n
    }

    const people = new Map<string, Person>()
    const chains = new Map<string, Int32Array>()
    for (const p of input.people) {
      people.set(p.id, p)
      // A disabled person keeps no chain: every check on them stops at the first lookup.
      if (!p.disabled)
        chains.set(
          p.id,
          Int32Array.from(AccessIndex.chainOf(p, teams), (l) => subjectNumber(subjectKey(l.subject)))
        )
    }

    const bySubject = new Map<string, Map<string, Map<string, Array<Entry>>>>()
    const names = Array.from({ length: KINDS }, () => new Map<string, number>())
    const slotMaps: Array<Map<number, number> | undefined> = []
    const allow: Array<number> = []
    const deny: Array<number> = []
    let egressPatterns = false
    for (const g of input.grants) {
      const sk = subjectKey(g.subject)
      const entry: Entry = {
        deny: g.effect === "deny",
        expiresAt: g.expiresAt === undefined ? Number.POSITIVE_INFINITY : g.expiresAt.epochMilliseconds,
        grant: g
      }
      let kinds = bySubject.get(sk)
      if (!kinds) bySubject.set(sk, (kinds = new Map()))
      let byName = kinds.get(g.resource.kind)
      if (!byName) kinds.set(g.resource.kind, (byName = new Map()))
      let list = byName.get(g.resource.name)
      if (!list) byName.set(g.resource.name, (list = []))
      list.push(entry)

      const kind = KIND_INDEX[g.resource.kind]
      if (kind === KIND_INDEX.egress && g.resource.name.startsWith("*.")) egressPatterns = true
      const kindNames = names[kind]!
      let name = kindNames.get(g.resource.name)
      if (name === undefined) kindNames.set(g.resource.name, (name = kindNames.size))
      const subject = subjectNumber(sk)
      let slots = slotMaps[subject]
      if (slots === undefined) slotMaps[subject] = slots = new Map()
      const key = name * KINDS + kind
      let slot = slots.get(key)
      if (slot === undefined) {
        slots.set(key, (slot = allow.length))
        allow.push(Number.NEGATIVE_INFINITY)
        deny.push(Number.NEGATIVE_INFINITY)
      }
      if (entry.deny) deny[slot] = Math.max(deny[slot]!, entry.expiresAt)
      else allow[slot] = Math.max(allow[slot]!, entry.expiresAt)
    }

    const departments = input.departments === undefined ? undefined : new Set([...input.departments].map((d) => d.id as string))
    return new AccessIndex({
      bySubject,
      chains,
      names,
      slots: slotMaps,
      allowUntil: Float64Array.from(allow),
      denyUntil: Float64Array.from(deny),
      egressPatterns,
      people,
      teams,
      departments
    })
  }

  /**
   * The person, their team, their department (the team's, else their own), and the org. A team
   * that no longer exists stays on the chain: grants to it, denies above all, must not lapse
   * because its record went first.
   */
  private static chainOf(p: Person, teams: Map<string, Team>): Array<ChainLink> {
    const chain: Array<ChainLink> = [{ subject: { kind: "person", id: p.id }, via: `is ${p.id}` }]
    const team = p.team === undefined ? undefined : teams.get(p.team)
    if (p.team !== undefined) {
      chain.push({
        subject: { kind: "team", id: p.team },
        via: team ? `${p.id} is in team ${p.team}` : `${p.id} is in team ${p.team} (which no longer exists)`
      })
    }
    const department = team?.department ?? p.department
    if (department !== undefined) {
      chain.push({
        subject: { kind: "department", id: department },
        via: team ? `team ${team.id} is in department ${department}` : `${p.id} is in department ${department}`
      })
    }
    chain.push({ subject: { kind: "org" }, via: "everybody is in the org" })
    return chain
  }

  private subjectChain(subject: Subject): Array<ChainLink> | undefined {
    switch (subject.kind) {
      case "person": {
        const p = this.people.get(subject.id)
        return p ? AccessIndex.chainOf(p, this.teams) : undefined
      }
      case "team": {
        const t = this.teams.get(subject.id)
        if (!t) return undefined
        return [
          { subject, via: `is team ${t.id}` },
          { subject: { kind: "department", id: t.department }, via: `team ${t.id} is in department ${t.department}` },
          { subject: { kind: "org" }, via: "everybody is in the org" }
        ]
      }
      case "department":
        // Without the department list (an index built from people and teams only) any id is taken.
        if (this.departments !== undefined && !this.departments.has(subject.id)) return undefined
        return [
          { subject, via: `is department ${subject.id}` },
          { subject: { kind: "org" }, via: "everybody is in the org" }
        ]
      case "org":
        return [{ subject, via: "is the org" }]
    }
  }

  // Folds one resource key's slots over the chain: DENY settles it, ALLOW when only allows are
  // active, NONE when nothing active matched.
  private decideKey(chain: Int32Array, key: number, now: number): number {
    let result = NONE
    for (let i = 0; i < chain.length; i++) {
      const slot = this.slots[chain[i]!]?.get(key)
      if (slot === undefined) continue
      if (this.denyUntil[slot]! > now) return DENY
      if (this.allowUntil[slot]! > now) result = ALLOW
    }
    return result
  }

  private decide(chain: Int32Array, kind: ResourceKind, name: string, now: number): Decision {
    const k = KIND_INDEX[kind]
    const names = this.names[k]!
    if (k === KIND_INDEX.egress && this.egressPatterns) {
      let allowed = false
      for (const candidate of coveringNames(kind, name)) {
        const n = names.get(candidate)
        const r = n === undefined ? NONE : this.decideKey(chain, n * KINDS + k, now)
        if (r === DENY) return DENIED
        if (r === ALLOW) allowed = true
      }
      return allowed ? ALLOWED : NO_GRANT
    }
    const exact = names.get(name)
    const a = exact === undefined ? NONE : this.decideKey(chain, exact * KINDS + k, now)
    if (a === DENY) return DENIED
    const wildcard = names.get("*")
    const b = wildcard === undefined ? NONE : this.decideKey(chain, wildcard * KINDS + k, now)
    if (b === DENY) return DENIED
    return a === ALLOW || b === ALLOW ? ALLOWED : NO_GRANT
  }

  /**
   * May this person use the resource at `now` (epoch ms)? Egress names are compared as host names
   * (case, a trailing dot and IDN forms do not matter); a name that is no host name is refused.
   */
  check(personId: string, kind: ResourceKind, name: string, now: number): Decision {
    const chain = this.chains.get(personId)
    if (chain === undefined) return this.people.has(personId) ? DISABLED : UNKNOWN
    if (kind !== "egress") return this.decide(chain, kind, name, now)
    const host = canonicalHost(name)
    return host === undefined ? NO_GRANT : this.decide(chain, kind, host, now)
  }

  /** Names of the active deny grants of a kind on the person's chain (to qualify allow-lists). */
  activeDenies(personId: string, kind: ResourceKind, now: number): ReadonlyArray<string> {
    const person = this.people.get(personId)
    if (person === undefined) return []
    const out = new Set<string>()
    for (const link of AccessIndex.chainOf(person, this.teams)) {
      for (const [name, entries] of this.bySubject.get(subjectKey(link.subject))?.get(kind) ?? []) {
        if (entries.some((e) => e.deny && e.expiresAt > now)) out.add(name)
      }
    }
    return [...out]
  }

  /**
   * The same decision for any subject, with the memberships and grants behind it. It is worked
   * out from the grant lists, not from the folded slots `check` reads, so the two cross-check.
   */
  explain(subject: Subject, resource: Resource, now: number): Explanation {
    const chain = this.subjectChain(subject)
    if (chain === undefined) return { ...UNKNOWN, subject, resource, chain: [], grants: [] }
    const names = coveringNames(resource.kind, resource.name)
    const grants: Array<MatchedGrant> = []
    for (const link of chain) {
      const byName = this.bySubject.get(subjectKey(link.subject))?.get(resource.kind)
      for (const n of names) {
        for (const e of byName?.get(n) ?? []) {
          grants.push({ grant: e.grant, through: link.subject, status: e.expiresAt <= now ? "expired" : "active" })
        }
      }
    }
    if (subject.kind === "person" && this.people.get(subject.id)?.disabled) {
      return { ...DISABLED, subject, resource, chain, grants }
    }
    const active = grants.filter((g) => g.status === "active")
    const deny = active.find((g) => g.grant.effect === "deny")?.grant
    const allow = active.find((g) => g.grant.effect === "allow")?.grant
    const base = deny ? DENIED : allow ? ALLOWED : NO_GRANT
    return { ...base, subject, resource, chain, grants, decidedBy: deny ?? allow }
  }

  get size(): { readonly people: number; readonly grants: number } {
    let grants = 0
    for (const kinds of this.bySubject.values()) for (const names of kinds.values()) for (const l of names.values()) grants += l.length
    return { people: this.people.size, grants }
  }
}
