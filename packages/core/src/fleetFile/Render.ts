import type { Change, Plan } from "./Change.ts"

const show = (v: unknown) => (v === undefined || v === null ? "(none)" : String(v))

/** One line per change: `+ person ada (team platform)`, `~ tenant ada: openclaw.version a → b`. */
export const renderChange = (c: Change): string => {
  switch (c.action) {
    case "create":
      switch (c.kind) {
        case "department":
          return `+ department ${c.id} (${c.department.displayName})`
        case "team":
          return `+ team ${c.id} (department ${c.team.department})`
        case "person":
          return `+ person ${c.id} (${c.person.team !== undefined ? `team ${c.person.team}` : c.person.department !== undefined ? `department ${c.person.department}` : "no team"})`
        case "tenant": {
          const version = c.settings.openclaw?.version
          return `+ tenant ${c.id} (owner ${c.owner}${version !== undefined ? `, openclaw ${version}` : ""})`
        }
        case "grant":
          return `+ grant ${c.id}`
      }
      break
    case "update":
      return `~ ${c.kind} ${c.id}: ${c.fields.map((f) => `${f.path} ${show(f.from)} → ${show(f.to)}`).join(", ")}`
    case "delete":
      return `- ${c.kind} ${c.id} (${c.note})`
  }
}

export const summarize = (plan: Plan) => ({
  add: plan.changes.filter((c) => c.action === "create").length,
  change: plan.changes.filter((c) => c.action === "update").length,
  remove: plan.changes.filter((c) => c.action === "delete").length
})

/**
 * The plan as text: one line per change, then a count. `target` names what the file is compared
 * with: the server, or the store of an embedding program.
 */
export const renderPlan = (plan: Plan, target = "server"): ReadonlyArray<string> => {
  if (plan.changes.length === 0) return [`No changes: the ${target} matches the fleet file.`]
  const s = summarize(plan)
  const removesGrants = plan.changes.some((c) => c.action === "delete" && c.kind === "grant")
  return [
    ...plan.changes.map(renderChange),
    "",
    ...(removesGrants
      ? [
          `The file has a \`grants\` key, so grants on the ${target} that it does not list are removed (without the key, grants are left alone).`
        ]
      : []),
    `Plan: ${s.add} to add, ${s.change} to change, ${s.remove} to remove.`
  ]
}

/** The plan as data, for `--output json`. */
export const planJson = (plan: Plan) => ({
  summary: summarize(plan),
  changes: plan.changes.map((c) => ({
    action: c.action,
    kind: c.kind,
    id: c.id,
    text: renderChange(c),
    ...(c.action === "update" ? { fields: c.fields } : {}),
    ...(c.kind === "grant" && c.action === "delete" ? { grantId: c.grantId } : {})
  }))
})
