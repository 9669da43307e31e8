/** Every table the store keeps, with the entity name its errors speak of. */
export const Tables = {
  people: "person",
  teams: "team",
  departments: "department",
  tenants: "tenant",
  skills: "skill",
  tools: "tool",
  knowledge_bases: "knowledge base",
  egress_domains: "egress domain",
  models: "model",
  grants: "grant",
  virtual_keys: "virtual key",
  signing_keys: "signing key",
  revocation_epochs: "revocation epoch",
  pairing_codes: "pairing code",
  api_tokens: "API token",
  sessions: "session",
  skill_bundles: "skill bundle",
  person_credentials: "person credential",
  tenant_credentials: "tenant credential"
} as const

export type Table = keyof typeof Tables

export const tableNames = Object.keys(Tables) as ReadonlyArray<Table>

/** JSON paths that lists may filter on; each has an index in SQL. */
export const Filters = {
  people: ["team", "department"],
  teams: ["department"],
  tenants: ["spec.owner"],
  grants: ["subject.kind", "subject.id", "resource.kind"],
  virtual_keys: ["tenant"],
  api_tokens: ["person"],
  sessions: ["person"],
  person_credentials: ["person"]
} as const satisfies Partial<Record<Table, ReadonlyArray<string>>>

export type FilterPath<T extends Table> = T extends keyof typeof Filters ? (typeof Filters)[T][number] : never

/** Reads a dotted path out of a JSON value, as `#>>` does in SQL. */
export const readPath = (data: unknown, path: string): string | undefined => {
  let cur: unknown = data
  for (const seg of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined
    cur = (cur as Record<string, unknown>)[seg]
  }
  return cur === undefined || cur === null ? undefined : typeof cur === "string" ? cur : JSON.stringify(cur)
}
