import type { Person } from "../../domain/Directory.ts"
import type { PersonPatch } from "../../fleet/PeopleOps.ts"
import { SignInError } from "./SignInError.ts"

/** How the provider's groups place a person in the org. */
export interface GroupMapping {
  /** The claim that lists the person's groups; default `groups`. */
  readonly claim?: string | undefined
  /** Group → team id. When several of a person's groups are mapped, the first listed here wins. */
  readonly teams?: Readonly<Record<string, string>> | undefined
  /** Group → department id, chosen the same way. */
  readonly departments?: Readonly<Record<string, string>> | undefined
}

export type Claims = Readonly<Record<string, unknown>>

/** The claims `complete` cannot do without; when the ID token lacks them, UserInfo may have them. */
export const missingClaims = (claims: Claims, groups: GroupMapping | undefined): boolean =>
  claims.email === undefined ||
  claims.email_verified === undefined ||
  (groups !== undefined && claims[groups.claim ?? "groups"] === undefined)

/** The e-mail address a person is looked up by, lower-cased; verified unless `allowUnverified`. */
export const emailOf = (claims: Claims, allowUnverified: boolean): string | SignInError => {
  const email = claims.email
  if (typeof email !== "string" || email === "") return SignInError.of("MissingEmail", "the provider sent no e-mail address")
  // Some providers send the flag as a string.
  const verified = claims.email_verified === true || claims.email_verified === "true"
  if (!verified && !allowUnverified) {
    return SignInError.of("UnverifiedEmail", "the provider has not verified the e-mail address")
  }
  return email.toLowerCase()
}

// What Person.groups can hold (Text(256)); anything else is dropped rather than failing sign-in.
const storable = (g: unknown): g is string =>
  typeof g === "string" && g.length > 0 && g.length <= 256 && g.isWellFormed() && !g.includes("\u0000")

/** The person's groups as the provider lists them, or undefined when it sends none. */
export const groupsOf = (claims: Claims, mapping: GroupMapping): ReadonlyArray<string> | undefined => {
  const raw = claims[mapping.claim ?? "groups"]
  if (raw === undefined || raw === null) return undefined
  const list = Array.isArray(raw) ? raw : [raw]
  return [...new Set(list.filter(storable))]
}

/**
 * Placement for a table of the mapping: the first mapped group the person is in. A value the
 * mapping hands out is the mapping's to take back: when none of its groups match any more, it is
 * cleared. A team or department set by hand, outside the mapping, is left alone.
 */
const place = (table: Readonly<Record<string, string>> | undefined, groups: ReadonlyArray<string>, current: string | undefined) => {
  if (table === undefined) return undefined
  const match = Object.keys(table).find((g) => groups.includes(g))
  if (match !== undefined) return table[match] === current ? undefined : table[match]
  return current !== undefined && Object.values(table).includes(current) ? null : undefined
}

/** The merge patch that brings the person in line with their groups, or undefined when they already are. */
export const placementPatch = (person: Person, groups: ReadonlyArray<string>, mapping: GroupMapping): PersonPatch | undefined => {
  const team = place(mapping.teams, groups, person.team)
  const department = place(mapping.departments, groups, person.department)
  const sameGroups = person.groups.length === groups.length && person.groups.every((g, i) => g === groups[i])
  const patch: { -readonly [K in keyof PersonPatch]: PersonPatch[K] } = {}
  if (team !== undefined) patch.team = team
  if (department !== undefined) patch.department = department
  if (!sameGroups) patch.groups = groups
  return Object.keys(patch).length === 0 ? undefined : patch
}
