import { AccessIndex, type DecisionReason, DnsLabel, Grant, Person, Resource, type ResourceKind, type Subject, Team } from "@clawfleet/core"
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import fc from "fast-check"

/**
 * AccessIndex against a brute-force reference written from the rules, not from the index:
 * a person's subjects are themselves, the team they name (even one whose record is gone, so its
 * denies cannot lapse), their department (the existing team's, else their own field) and the org; a grant applies when its subject is one of those,
 * it has not expired (expiresAt > now) and its resource covers the one asked about. Any
 * applicable deny denies, else any applicable allow allows, else denied. Disabled or unknown
 * people are denied everything.
 */

const NOW = Date.UTC(2026, 0, 15, 12)
const KINDS: ReadonlyArray<ResourceKind> = ["skill", "tool", "knowledge", "egress", "model"]
const DEPARTMENTS = ["eng", "sales", "ops"] as const
const TEAMS = ["platform", "web", "field", "infra"] as const
const PEOPLE = ["ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal"] as const
// One pool for every kind, so egress suffix matching must not leak into the other kinds.
const HOSTS = ["api.github.com", "github.com", "raw.api.github.com", "api.example.com", "gpt-4.1", "search"] as const
const PATTERNS = ["*.github.com", "*.api.github.com", "*.example.com", "*.com"] as const
const NAMES: ReadonlyArray<string> = [...HOSTS, ...PATTERNS]
const UNKNOWN_PEOPLE = ["ghost", "nobody"]

interface Org {
  readonly teams: ReadonlyArray<Team>
  readonly people: ReadonlyArray<Person>
  readonly grants: ReadonlyArray<Grant>
}

const decodeGrant = Schema.decodeUnknownSync(Grant)
let grantSeq = 0
const iso = (ms: number) => new Date(ms).toISOString()

// Subjects include ids that name nobody: such grants must never apply.
const subjectArb: fc.Arbitrary<Subject> = fc.oneof(
  fc.constantFrom(...PEOPLE, ...UNKNOWN_PEOPLE).map((id): Subject => ({ kind: "person", id: DnsLabel.make(id) })),
  fc.constantFrom(...TEAMS, "gone", "no-such-team").map((id): Subject => ({ kind: "team", id: DnsLabel.make(id) })),
  fc.constantFrom(...DEPARTMENTS, "no-such-dept").map((id): Subject => ({ kind: "department", id: DnsLabel.make(id) })),
  fc.constant<Subject>({ kind: "org" })
)

// Egress grants must name hosts or patterns (the schema refuses others); other kinds take any name.
const EGRESS_NAMES = NAMES.filter((n) => Schema.is(Resource)({ kind: "egress", name: n }))
// `*.suffix` patterns are refused for the other kinds; they are still asked about, as plain names.
const OTHER_NAMES = NAMES.filter((n) => !n.startsWith("*."))
const kindAndName = fc
  .constantFrom(...KINDS)
  .chain((kind) => fc.record({ kind: fc.constant(kind), name: fc.constantFrom(...(kind === "egress" ? EGRESS_NAMES : OTHER_NAMES), "*") }))

const grantArb = fc
  .record({
    subject: subjectArb,
    resource: kindAndName,
    effect: fc.constantFrom("allow" as const, "deny" as const),
    // Offsets from NOW; 0 is the boundary (expired exactly now).
    expiresIn: fc.option(fc.constantFrom(-86_400_000, -1, 0, 1, 86_400_000), { nil: undefined })
  })
  .map((g) =>
    decodeGrant({
      id: `g${++grantSeq}`,
      subject: g.subject,
      resource: g.resource,
      effect: g.effect,
      ...(g.expiresIn === undefined ? {} : { expiresAt: iso(NOW + g.expiresIn) }),
      actor: "test",
      createdAt: iso(NOW - 1000)
    })
  )

const orgArb: fc.Arbitrary<Org> = fc
  .subarray([...DEPARTMENTS], { minLength: 1 })
  .chain((departments) =>
    fc.record({
      teams: fc.uniqueArray(fc.record({ id: fc.constantFrom(...TEAMS), department: fc.constantFrom(...departments) }), {
        selector: (t) => t.id,
        maxLength: TEAMS.length
      }),
      people: fc.uniqueArray(
        fc.record({
          id: fc.constantFrom(...PEOPLE),
          // "gone" is a team that does not exist: grants to it still apply, and the person's
          // department is then their own field.
          team: fc.option(fc.constantFrom(...TEAMS, "gone"), { nil: undefined }),
          department: fc.option(fc.constantFrom(...departments), { nil: undefined }),
          // About one person in four is disabled.
          disabled: fc.nat(3).map((n) => n === 0)
        }),
        { selector: (p) => p.id, minLength: 1, maxLength: PEOPLE.length }
      ),
      grants: fc.array(grantArb, { minLength: 1, maxLength: 60, size: "max" })
    })
  )
  .map(({ teams, people, grants }) => ({
    teams: teams.map((t) => Schema.decodeUnknownSync(Team)({ ...t, displayName: t.id })),
    people: people.map((p) =>
      Schema.decodeUnknownSync(Person)({
        id: p.id,
        email: `${p.id}@example.com`,
        displayName: p.id,
        disabled: p.disabled,
        ...(p.team === undefined ? {} : { team: p.team }),
        ...(p.department === undefined ? {} : { department: p.department })
      })
    ),
    grants
  }))

// ---- the reference -----------------------------------------------------------------------

const key = (s: Subject) => (s.kind === "org" ? "org" : `${s.kind}:${s.id}`)

const referenceSubjects = (org: Org, person: Person): ReadonlyArray<string> => {
  const team = org.teams.find((t) => t.id === person.team)
  const department = team !== undefined ? team.department : person.department
  return [
    `person:${person.id}`,
    ...(person.team === undefined ? [] : [`team:${person.team}`]),
    ...(department === undefined ? [] : [`department:${department}`]),
    "org"
  ]
}

const covers = (kind: ResourceKind, grantName: string, name: string): boolean => {
  if (grantName === name || grantName === "*") return true
  if (kind !== "egress" || !grantName.startsWith("*.")) return false
  const host = name.startsWith("*.") ? name.slice(2) : name
  return host.endsWith(grantName.slice(1))
}

const applies = (g: Grant, subjects: ReadonlyArray<string>, kind: ResourceKind, name: string, now: number) =>
  subjects.includes(key(g.subject)) &&
  (g.expiresAt === undefined || g.expiresAt.epochMilliseconds > now) &&
  g.resource.kind === kind &&
  covers(kind, g.resource.name, name)

const reference = (org: Org, personId: string, kind: ResourceKind, name: string, now: number): DecisionReason => {
  const person = org.people.find((p) => p.id === personId)
  if (person === undefined) return "unknown-subject"
  if (person.disabled) return "person-disabled"
  const subjects = referenceSubjects(org, person)
  const active = org.grants.filter((g) => applies(g, subjects, kind, name, now))
  if (active.some((g) => g.effect === "deny")) return "denied-by-grant"
  if (active.some((g) => g.effect === "allow")) return "allowed"
  return "no-grant"
}

const build = (org: Org) => AccessIndex.build({ people: org.people, teams: org.teams, grants: org.grants })
const queriedPeople = (org: Org) => [...org.people.map((p) => p.id), ...UNKNOWN_PEOPLE]

describe("AccessIndex (property)", () => {
  it("check agrees with the brute-force reference for every person and resource", () => {
    fc.assert(
      fc.property(orgArb, (org) => {
        const index = build(org)
        const mismatches: Array<string> = []
        for (const personId of queriedPeople(org)) {
          for (const kind of KINDS) {
            for (const name of NAMES) {
              const expected = reference(org, personId, kind, name, NOW)
              const actual = index.check(personId, kind, name, NOW)
              if (actual.reason !== expected || actual.allowed !== (expected === "allowed")) {
                mismatches.push(`${personId} ${kind}:${name} expected ${expected}, got ${actual.reason}/${actual.allowed}`)
              }
            }
          }
        }
        expect(mismatches).toEqual([])
      }),
      { numRuns: 1000 }
    )
  })

  it("explain decides like check, walks the membership chain and names an active deciding grant", () => {
    fc.assert(
      fc.property(orgArb, (org) => {
        const index = build(org)
        const problems: Array<string> = []
        for (const personId of queriedPeople(org)) {
          const person = org.people.find((p) => p.id === personId)
          const subjects = person === undefined ? [] : referenceSubjects(org, person)
          for (const kind of KINDS) {
            for (const name of NAMES) {
              const decision = index.check(personId, kind, name, NOW)
              const explanation = index.explain({ kind: "person", id: DnsLabel.make(personId) }, { kind, name }, NOW)
              const by = explanation.decidedBy
              const problem = (what: string) => problems.push(`${personId} ${kind}:${name} (${decision.reason}): ${what}`)
              if (explanation.allowed !== decision.allowed || explanation.reason !== decision.reason) {
                problem(`explain says ${explanation.reason}`)
              }
              if (explanation.chain.map((l) => key(l.subject)).join(" > ") !== subjects.join(" > ")) {
                problem(`chain ${explanation.chain.map((l) => key(l.subject)).join(" > ")}`)
              }
              const decidingEffect = decision.reason === "allowed" ? "allow" : decision.reason === "denied-by-grant" ? "deny" : undefined
              if (decidingEffect !== undefined) {
                if (by === undefined) problem("no decidedBy")
                else if (by.effect !== decidingEffect) problem(`decidedBy is a ${by.effect}`)
                else if (!applies(by, subjects, kind, name, NOW)) problem(`decidedBy ${by.id} is not active on the chain`)
              }
              if (decision.reason === "no-grant" && explanation.grants.some((g) => g.status === "active")) {
                problem("lists an active grant")
              }
            }
          }
        }
        expect(problems).toEqual([])
      }),
      { numRuns: 1000 }
    )
  })

  it("a grant expiring exactly now no longer counts, one expiring a millisecond later still does", () => {
    const org: Org = {
      teams: [],
      people: [Schema.decodeUnknownSync(Person)({ id: "ada", email: "ada@example.com", displayName: "Ada" })],
      grants: [
        decodeGrant({
          id: "g1",
          subject: { kind: "org" },
          resource: { kind: "model", name: "*" },
          effect: "allow",
          expiresAt: iso(NOW),
          actor: "test",
          createdAt: iso(NOW - 1000)
        })
      ]
    }
    const index = build(org)
    expect(index.check("ada", "model", "gpt-4.1", NOW - 1).reason).toBe("allowed")
    expect(index.check("ada", "model", "gpt-4.1", NOW).reason).toBe("no-grant")
  })
})
