import { DateTime } from "effect"
import { Department, Person, Team } from "../src/domain/Directory.ts"
import { Grant, type ResourceKind, type Subject } from "../src/domain/Grant.ts"
import type { DnsLabel } from "../src/domain/Names.ts"

export const KINDS: ReadonlyArray<ResourceKind> = ["skill", "tool", "knowledge", "egress", "model"]

export const SIZES = { people: 10_000, teams: 1_000, departments: 50, grants: 50_000, namesPerKind: 300 } as const

/** Whole seconds, so Cedar's `context.now` in epoch seconds compares exactly like our milliseconds. */
export const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0)
const DAY_MS = 86_400_000

/** mulberry32: tiny, fast and good enough to make the same org on every run. */
export const prng = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const pad = (n: number, width: number) => String(n).padStart(width, "0")
const label = (s: string) => s as DnsLabel
const pick = <A>(rnd: () => number, xs: ReadonlyArray<A>): A => xs[Math.floor(rnd() * xs.length)]!

/**
 * Catalog names. Egress hosts have three or more labels so our check pays for the suffix patterns
 * it must try (`*.svc3.example.com`, `*.example.com`), even though no grant uses one: Cedar has
 * no suffix match on entity ids, so egress grants here are exact hosts or `*` only, which keeps
 * the two engines equivalent.
 */
export const resourceName = (kind: ResourceKind, i: number): string => {
  switch (kind) {
    case "egress":
      return `api${i}.svc${i % 17}.example.com`
    case "knowledge":
      return `kb-${pad(i, 3)}`
    default:
      return `${kind}-${pad(i, 3)}`
  }
}

/** Popular names get most grants and most checks, as in a real catalog; a few are never granted. */
const nameIndex = (rnd: () => number, spread: number) => Math.floor(SIZES.namesPerKind * spread * rnd() ** 2)

export interface Fixture {
  readonly departments: ReadonlyArray<Department>
  readonly teams: ReadonlyArray<Team>
  readonly people: ReadonlyArray<Person>
  readonly grants: ReadonlyArray<Grant>
}

export const makeFixture = (seed: number): Fixture => {
  const rnd = prng(seed)
  const departments = Array.from(
    { length: SIZES.departments },
    (_, i) => new Department({ id: label(`dept-${pad(i, 2)}`), displayName: `Department ${i}` })
  )
  const teams = Array.from(
    { length: SIZES.teams },
    (_, i) => new Team({ id: label(`team-${pad(i, 4)}`), displayName: `Team ${i}`, department: pick(rnd, departments).id })
  )
  const people = Array.from({ length: SIZES.people }, (_, i) => {
    const id = label(`p-${pad(i, 5)}`)
    const r = rnd()
    const disabled = rnd() < 0.01
    // 95% in a team (a few also carry a stale department that must be ignored), 4% only in a
    // department, 1% in neither (reached by org grants alone).
    const team = r < 0.95 ? pick(rnd, teams).id : undefined
    const department = (r < 0.95 && rnd() < 0.02) || (r >= 0.95 && r < 0.99) ? pick(rnd, departments).id : undefined
    return new Person({
      id,
      email: `${id}@example.com` as Person["email"],
      displayName: `Person ${i}`,
      ...(team === undefined ? {} : { team }),
      ...(department === undefined ? {} : { department }),
      disabled
    })
  })
  const createdAt = DateTime.makeUnsafe(NOW_MS - 90 * DAY_MS) as DateTime.Utc
  const grants = Array.from({ length: SIZES.grants }, (_, i) => {
    const s = rnd()
    const subject: Subject =
      s < 0.62
        ? { kind: "person", id: pick(rnd, people).id }
        : s < 0.9
          ? { kind: "team", id: pick(rnd, teams).id }
          : s < 0.995
            ? { kind: "department", id: pick(rnd, departments).id }
            : { kind: "org" }
    const kind = pick(rnd, KINDS)
    const name = rnd() < 0.01 ? "*" : resourceName(kind, nameIndex(rnd, 1))
    const e = rnd()
    // 10% expired, 10% expiring later, a few exactly now (absent: expiry is exclusive).
    const expiresMs =
      e < 0.1
        ? NOW_MS - (1 + Math.floor(rnd() * 60)) * DAY_MS
        : e < 0.2
          ? NOW_MS + (1 + Math.floor(rnd() * 60)) * DAY_MS
          : e < 0.205
            ? NOW_MS
            : undefined
    return new Grant({
      id: `g-${pad(i, 6)}`,
      subject,
      resource: { kind, name },
      effect: rnd() < 0.15 ? "deny" : "allow",
      ...(expiresMs === undefined ? {} : { expiresAt: DateTime.makeUnsafe(expiresMs) as DateTime.Utc }),
      actor: "bench",
      createdAt
    })
  })
  return { departments, teams, people, grants }
}

/** Parallel arrays rather than objects, so the timed loop reads three values and nothing else. */
export interface Queries {
  readonly person: Array<string>
  readonly kind: Array<ResourceKind>
  readonly name: Array<string>
}

/** `burst` > 1 keeps the same person for that many questions in a row, as one tenant's proxy would. */
export const makeQueries = (fx: Fixture, n: number, seed: number, burst = 1): Queries => {
  const rnd = prng(seed)
  const q: Queries = { person: [], kind: [], name: [] }
  let person = ""
  for (let i = 0; i < n; i++) {
    const kind = pick(rnd, KINDS)
    if (i % burst === 0) person = pick(rnd, fx.people).id
    q.person.push(person)
    q.kind.push(kind)
    q.name.push(resourceName(kind, nameIndex(rnd, 1.05)))
  }
  return q
}
