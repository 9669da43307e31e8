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

/**
 * An immutable index of the org graph and every grant, built once per store revision. A check
 * walks at most four subjects (person, team, department, org) with a few map lookups each, so it
 * costs the same with 50 grants or 50,000.
 */
export class AccessIndex {
  // subject key -> resource kind -> resource name -> grants
  private readonly bySubject: Map<string, Map<string, Map<string, Array<Entry>>>>
  // person id -> subject keys from the person up to the org; absent for unknown people
  private readonly chains: Map<string, ReadonlyArray<string>>
  private readonly people: Map<string, Person>
  private readonly teams: Map<string, Team>
  private readonly disabled: Set<string>
  private readonly departments: Set<string> | undefined

  private constructor(
    bySubject: Map<string, Map<string, Map<string, Array<Entry>>>>,
    chains: Map<string, ReadonlyArray<string>>,
    people: Map<string, Person>,
    teams: Map<string, Team>,
    disabled: Set<string>,
    departments: Set<string> | undefined
  ) {
    this.bySubject = bySubject
    this.chains = chains
    this.people = people
    this.teams = teams
    this.disabled = disabled
    this.departments = departments
  }

  static build(input: {
    readonly people: Iterable<Person>
    readonly teams: Iterable<Team>
    readonly departments?: Iterable<Department>
    readonly grants: Iterable<Grant>
  }): AccessIndex {
    const teams = new Map<string, Team>()
    for (const t of input.teams) teams.set(t.id, t)
    const people = new Map<string, Person>()
    const chains = new Map<string, ReadonlyArray<string>>()
    const disabled = new Set<string>()
    for (const p of input.people) {
      people.set(p.id, p)
      if (p.disabled) disabled.add(p.id)
      chains.set(
        p.id,
        AccessIndex.chainOf(p, teams).map((l) => subjectKey(l.subject))
      )
    }
    const bySubject = new Map<string, Map<string, Map<string, Array<Entry>>>>()
    for (const g of input.grants) {
      const sk = subjectKey(g.subject)
      let kinds = bySubject.get(sk)
      if (!kinds) bySubject.set(sk, (kinds = new Map()))
      let names = kinds.get(g.resource.kind)
      if (!names) kinds.set(g.resource.kind, (names = new Map()))
      let list = names.get(g.resource.name)
      if (!list) names.set(g.resource.name, (list = []))
      list.push({
        deny: g.effect === "deny",
        expiresAt: g.expiresAt === undefined ? Number.POSITIVE_INFINITY : g.expiresAt.epochMilliseconds,
        grant: g
      })
    }
    const departments = input.departments === undefined ? undefined : new Set([...input.departments].map((d) => d.id as string))
    return new AccessIndex(bySubject, chains, people, teams, disabled, departments)
  }

  /** The person, their team, their department (the team's, else their own), and the org. */
  private static chainOf(p: Person, teams: Map<string, Team>): Array<ChainLink> {
    const chain: Array<ChainLink> = [{ subject: { kind: "person", id: p.id }, via: `is ${p.id}` }]
    const team = p.team === undefined ? undefined : teams.get(p.team)
    if (team) chain.push({ subject: { kind: "team", id: team.id }, via: `${p.id} is in team ${team.id}` })
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

  private decide(keys: ReadonlyArray<string>, kind: ResourceKind, name: string, now: number): Decision {
    const names = kind === "egress" ? coveringNames(kind, name) : undefined
    let allowed = false
    for (let i = 0; i < keys.length; i++) {
      const byName = this.bySubject.get(keys[i]!)?.get(kind)
      if (byName === undefined) continue
      if (names === undefined) {
        const a = this.scan(byName.get(name), now)
        if (a === DENIED) return DENIED
        const b = this.scan(byName.get("*"), now)
        if (b === DENIED) return DENIED
        if (a === ALLOWED || b === ALLOWED) allowed = true
      } else {
        for (const n of names) {
          const r = this.scan(byName.get(n), now)
          if (r === DENIED) return DENIED
          if (r === ALLOWED) allowed = true
        }
      }
    }
    return allowed ? ALLOWED : NO_GRANT
  }

  private scan(list: Array<Entry> | undefined, now: number): Decision | undefined {
    if (list === undefined) return undefined
    let result: Decision | undefined
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!
      if (e.expiresAt <= now) continue
      if (e.deny) return DENIED
      result = ALLOWED
    }
    return result
  }

  /** May this person use the resource at `now` (epoch ms)? */
  check(personId: string, kind: ResourceKind, name: string, now: number): Decision {
    const keys = this.chains.get(personId)
    if (keys === undefined) return UNKNOWN
    if (this.disabled.has(personId)) return DISABLED
    return this.decide(keys, kind, name, now)
  }

  /** The same decision for any subject, with the memberships and grants behind it. */
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
    const active = grants.filter((g) => g.status === "active")
    const decidedBy = active.find((g) => g.grant.effect === "deny")?.grant ?? active.find((g) => g.grant.effect === "allow")?.grant
    const base =
      subject.kind === "person" && this.disabled.has(subject.id)
        ? DISABLED
        : this.decide(
            chain.map((l) => subjectKey(l.subject)),
            resource.kind,
            resource.name,
            now
          )
    return { ...base, subject, resource, chain, grants, decidedBy: base === DISABLED ? undefined : decidedBy }
  }

  get size(): { readonly people: number; readonly grants: number } {
    let grants = 0
    for (const kinds of this.bySubject.values()) for (const names of kinds.values()) for (const l of names.values()) grants += l.length
    return { people: this.people.size, grants }
  }
}
