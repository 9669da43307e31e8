import { createRequire } from "node:module"
import type { EntityJson, StatefulAuthorizationCall } from "@cedar-policy/cedar-wasm/nodejs"
import type { Person, Team } from "../src/domain/Directory.ts"
import type { Grant, ResourceKind } from "../src/domain/Grant.ts"
import type { Fixture } from "./fixture.ts"

// The Node build is CommonJS and loads its .wasm synchronously; require keeps it out of ESM interop.
const require = createRequire(import.meta.url)
export const cedar: typeof import("@cedar-policy/cedar-wasm/nodejs") = require("@cedar-policy/cedar-wasm/nodejs")

const entityType: Record<ResourceKind, string> = {
  skill: "Skill",
  tool: "Tool",
  knowledge: "Knowledge",
  egress: "Egress",
  model: "Model"
}

/** Cedar has Long but no timestamps without the datetime extension; whole epoch seconds are exact here. */
export const epochSeconds = (ms: number): number => {
  if (ms % 1000 !== 0) throw new Error(`bench times must be whole seconds, got ${ms} ms`)
  return ms / 1000
}

const principalScope = (g: Grant): string => {
  switch (g.subject.kind) {
    case "person":
      return `principal == Person::"${g.subject.id}"`
    case "team":
      return `principal in Team::"${g.subject.id}"`
    case "department":
      return `principal in Department::"${g.subject.id}"`
    case "org":
      return `principal in Org::"org"`
  }
}

/**
 * One Cedar policy per grant, with the same meaning: Cedar also denies by default and lets any
 * satisfied forbid override every permit, and `context.now < expiry` makes an expired grant absent
 * exactly like `expiresAt <= now` does in AccessIndex.
 */
export const toCedarPolicies = (grants: ReadonlyArray<Grant>): string => {
  const out: Array<string> = [
    // Disabled people are denied everything, whatever their grants say.
    `@id("disabled")\nforbid (principal, action, resource) when { principal.disabled };`
  ]
  for (const g of grants) {
    const { kind, name } = g.resource
    if (kind === "egress" && name.startsWith("*.")) {
      throw new Error(`${g.id}: suffix patterns have no Cedar equivalent; the fixture must not make them`)
    }
    const resource = name === "*" ? `resource is ${entityType[kind]}` : `resource == ${entityType[kind]}::"${name}"`
    const when = g.expiresAt === undefined ? "" : ` when { context.now < ${epochSeconds(g.expiresAt.epochMilliseconds)} }`
    const effect = g.effect === "allow" ? "permit" : "forbid"
    out.push(`@id("${g.id}")\n${effect} (${principalScope(g)}, action, ${resource})${when};`)
  }
  return out.join("\n")
}

/** The department a person's grants resolve through: the team's, else their own. */
const chainDepartment = (p: Person, teams: ReadonlyMap<string, Team>): string | undefined =>
  (p.team === undefined ? undefined : teams.get(p.team))?.department ?? p.department

/**
 * Cedar evaluates every policy in the set on every request (cost grows linearly with it), so a
 * real deployment at this size would slice. Splitting by department is exact: a person's chain
 * only ever reaches their own department's people, teams and department, plus the org.
 */
export const sliceByDepartment = (fx: Fixture, teams: ReadonlyMap<string, Team>) => {
  const personSlice = new Map(fx.people.map((p) => [p.id as string, `dept:${chainDepartment(p, teams) ?? "-"}`]))
  const slices = new Map<string, Array<Grant>>([...new Set(personSlice.values())].map((id) => [id, []]))
  const org: Array<Grant> = []
  for (const g of fx.grants) {
    const s = g.subject
    if (s.kind === "org") {
      org.push(g)
      continue
    }
    const slice = s.kind === "person" ? personSlice.get(s.id) : `dept:${s.kind === "team" ? teams.get(s.id)?.department : s.id}`
    // A grant to a department or team nobody is in reaches no one, like in AccessIndex.
    slices.get(slice ?? "")?.push(g)
  }
  for (const list of slices.values()) list.push(...org)
  return { personSlice, slices }
}

/**
 * Only what a request about this person can reach: the person, their team, the department and the
 * org, mirroring AccessIndex's chain (the team's department wins over the person's own).
 */
export const entitiesFor = (p: Person, teams: ReadonlyMap<string, Team>): Array<EntityJson> => {
  const out: Array<EntityJson> = [{ uid: { type: "Org", id: "org" }, attrs: {}, parents: [] }]
  // Each entity added is the parent of the next one, ending with the person.
  let parent = { type: "Org", id: "org" }
  const team = p.team === undefined ? undefined : teams.get(p.team)
  const deptId = chainDepartment(p, teams)
  if (deptId !== undefined) {
    out.push({ uid: { type: "Department", id: deptId }, attrs: {}, parents: [parent] })
    parent = { type: "Department", id: deptId }
  }
  if (team !== undefined) {
    out.push({ uid: { type: "Team", id: team.id }, attrs: {}, parents: [parent] })
    parent = { type: "Team", id: team.id }
  }
  out.push({ uid: { type: "Person", id: p.id }, attrs: { disabled: p.disabled }, parents: [parent] })
  return out
}

export const request = (
  policySetId: string,
  personId: string,
  kind: ResourceKind,
  name: string,
  nowMs: number,
  entities: Array<EntityJson>
): StatefulAuthorizationCall => ({
  principal: { type: "Person", id: personId },
  action: { type: "Action", id: "use" },
  resource: { type: entityType[kind], id: name },
  context: { now: epochSeconds(nowMs) },
  preparsedPolicySetId: policySetId,
  entities
})

export const preparse = (id: string, policies: string): void => {
  const parsed = cedar.preparsePolicySet(id, { staticPolicies: policies })
  if (parsed.type !== "success") throw new Error(`cedar parse ${id}: ${parsed.errors.map((e) => e.message).join("; ")}`)
}

/** true = allow; throws when Cedar reports an error, since an erroring policy is silently skipped. */
export const decide = (call: StatefulAuthorizationCall): boolean => {
  const answer = cedar.statefulIsAuthorized(call)
  if (answer.type === "failure") throw new Error(`cedar: ${answer.errors.map((e) => e.message).join("; ")}`)
  if (answer.response.diagnostics.errors.length > 0) {
    throw new Error(`cedar: ${answer.response.diagnostics.errors.map((e) => e.error.message).join("; ")}`)
  }
  return answer.response.decision === "allow"
}
