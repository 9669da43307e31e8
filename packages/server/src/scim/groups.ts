import { createHash } from "node:crypto"
import type { Person, PersonPatch } from "@clawfleet/core"
import { GROUP_SCHEMA } from "./discovery.ts"
import type { Json } from "./paths.ts"

/**
 * Groups are not records of their own: a group is its name, and its members are the people whose
 * `groups` hold that name. So the id is the name itself, base64url-encoded to be safe in a path,
 * and a group nobody is in still answers GET (with no members) — its name is all it has.
 */
export const groupId = (name: string) => Buffer.from(name, "utf8").toString("base64url")

/** The name behind an id, or undefined for anything `groupId` would not have produced. */
export const groupName = (id: string): string | undefined => {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(id)) return undefined
  const name = Buffer.from(id, "base64url").toString("utf8")
  return validGroupName(name) && groupId(name) === id ? name : undefined
}

/** What `Person.groups` can hold. */
export const validGroupName = (name: string) => name.length > 0 && name.length <= 256 && name.isWellFormed() && !name.includes("\u0000")

export const groupLocation = (base: string, name: string) => `${base}/Groups/${groupId(name)}`

export const groupRef = (base: string, name: string) => ({ value: groupId(name), display: name, $ref: groupLocation(base, name) })

/** A group has no stored version: its members are what changes, so they are what the ETag hashes. */
export const groupVersion = (members: ReadonlyArray<Person>) =>
  `W/"${createHash("sha256")
    .update(
      members
        .map((p) => p.id)
        .sort()
        .join("\n")
    )
    .digest("hex")
    .slice(0, 16)}"`

export const renderGroup = (name: string, members: ReadonlyArray<Person>, base: string, withMembers = true): Json => ({
  schemas: [GROUP_SCHEMA],
  id: groupId(name),
  displayName: name,
  ...(withMembers
    ? { members: members.map((p) => ({ value: p.id, display: p.displayName, $ref: `${base}/Users/${encodeURIComponent(p.id)}` })) }
    : {}),
  meta: { resourceType: "Group", location: groupLocation(base, name), version: groupVersion(members) }
})

/** `team:<id>` names team `<id>`. */
export const defaultTeamOfGroup = (displayName: string): string | undefined =>
  /^team:([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)$/.exec(displayName)?.[1]

/**
 * The patch that gives a person their new groups, and the team that follows from them. Joining a
 * team group moves the person to that team (a mover: the newest assignment wins, whatever order
 * the provider adds and removes in). Leaving the group that gave their current team falls back to
 * another team group they are still in, or clears it; a team set by hand, outside every group, is
 * not the groups' to take away.
 */
export const membershipPatch = (
  person: Person,
  groups: ReadonlyArray<string>,
  teamOf: (group: string) => string | undefined
): PersonPatch | undefined => {
  const before = new Set(person.groups)
  const after = new Set(groups)
  const added = groups.filter((g) => !before.has(g))
  const removed = person.groups.filter((g) => !after.has(g))
  if (added.length === 0 && removed.length === 0) return undefined
  const patch: { -readonly [K in keyof PersonPatch]: PersonPatch[K] } = { groups: [...groups] }
  const joined = added.map(teamOf).filter((t) => t !== undefined)
  const remaining = groups.map(teamOf).filter((t) => t !== undefined)
  let team: string | null | undefined
  if (joined.length > 0) team = joined.at(-1)
  else if (person.team !== undefined && !remaining.includes(person.team) && removed.some((g) => teamOf(g) === person.team)) {
    team = remaining.at(-1) ?? null
  }
  if (team !== undefined && team !== (person.team ?? null)) patch.team = team
  return patch
}
