import type { Change, FleetState } from "./Change.ts"
import { type FleetFile, problemAt } from "./Parse.ts"
import { grantKey } from "./Spec.ts"

/** What the file's subjects may refer to: ids in the file or on the server. */
interface Known {
  readonly departments: ReadonlySet<string>
  readonly teams: ReadonlySet<string>
  readonly people: ReadonlySet<string>
}

/**
 * The grant changes of a plan, when the file has a `grants` key: each listed grant the state
 * lacks is added, and each grant of the state the list lacks is removed. A grant is the same when
 * its effect, subject and resource are; the file's grants never expire, so a grant of the state
 * with an expiry is not one of them. Without the key there is nothing to do.
 */
export const planGrants = (
  file: FleetFile,
  state: FleetState,
  known: Known
): { readonly changes: ReadonlyArray<Change>; readonly problems: ReadonlyArray<string> } => {
  const listed = file.spec.grants
  if (listed === undefined) return { changes: [], problems: [] }
  const problems: Array<string> = []
  const existing = new Map<string, string>()
  const extra: Array<{ readonly key: string; readonly id: string }> = []
  for (const g of state.grants) {
    const key = grantKey(g)
    if (g.expiresAt === undefined && !existing.has(key)) existing.set(key, g.id)
    else extra.push({ key, id: g.id })
  }
  const changes: Array<Change> = []
  const wanted = new Set<string>()
  listed.forEach((g, i) => {
    const s = g.subject
    if (s.kind !== "org") {
      const ids = s.kind === "person" ? known.people : s.kind === "team" ? known.teams : known.departments
      if (!ids.has(s.id))
        problems.push(problemAt(file, ["grants", i, "subject", "id"], `${s.kind} "${s.id}" is neither in the file nor on the server`))
    }
    const key = grantKey(g)
    wanted.add(key)
    if (existing.has(key)) return
    const grant = { subject: s, resource: g.resource, effect: g.effect ?? "allow", ...(g.reason !== undefined ? { reason: g.reason } : {}) }
    changes.push({ action: "create", kind: "grant", id: key, grant })
  })
  const note = "not in the fleet file's grants"
  for (const [key, id] of existing) if (!wanted.has(key)) changes.push({ action: "delete", kind: "grant", id: key, grantId: id, note })
  for (const { key, id } of extra) changes.push({ action: "delete", kind: "grant", id: key, grantId: id, note })
  return { changes, problems }
}
