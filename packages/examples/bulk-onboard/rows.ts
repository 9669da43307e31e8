import { csvRecords } from "./csv.ts"

export const columns = ["id", "email", "displayName", "team", "department"] as const

export interface Row {
  readonly line: number
  readonly id: string
  readonly email: string
  readonly displayName: string
  /** Empty when the person has no team. */
  readonly team: string
  /** Empty when the person has no department (their team's department is used when they have a team). */
  readonly department: string
}

export interface BadRow {
  readonly line: number
  readonly id?: string
  readonly reasons: ReadonlyArray<string>
}

/**
 * Reads the header and the rows; rows with missing fields are bad rows, the rest are kept. Records
 * are taken one at a time from the parser, so only the rows are held, never every record as well.
 */
export const readRows = (
  text: string
): { readonly rows: ReadonlyArray<Row>; readonly bad: ReadonlyArray<BadRow>; readonly fatal?: string } => {
  const records = csvRecords(text)
  const first = records.next()
  if (first.done) {
    const fatal = first.value ?? "the file is empty: expected the header id,email,displayName,team,department"
    return { rows: [], bad: [], fatal }
  }
  const header = first.value
  const index = new Map(header.fields.map((name, i) => [name.trim(), i]))
  const missing = columns.filter((c) => !index.has(c))
  if (missing.length > 0) return { rows: [], bad: [], fatal: `line ${header.line}: the header lacks ${missing.join(", ")}` }
  const rows: Array<Row> = []
  const bad: Array<BadRow> = []
  for (let next = records.next(); ; next = records.next()) {
    if (next.done) return next.value === undefined ? { rows, bad } : { rows, bad, fatal: next.value }
    const r = next.value
    const get = (c: (typeof columns)[number]) => (r.fields[index.get(c)!] ?? "").trim()
    if (r.fields.length !== header.fields.length) {
      bad.push({ line: r.line, reasons: [`has ${r.fields.length} fields, the header has ${header.fields.length}`] })
      continue
    }
    const row: Row = {
      line: r.line,
      id: get("id"),
      email: get("email"),
      displayName: get("displayName"),
      team: get("team"),
      department: get("department")
    }
    const reasons: Array<string> = []
    for (const c of ["id", "email", "displayName"] as const) if (row[c] === "") reasons.push(`${c} is missing`)
    if (row.team === "" && row.department === "") reasons.push("team and department are both missing")
    if (reasons.length > 0) bad.push({ line: r.line, ...(row.id !== "" ? { id: row.id } : {}), reasons })
    else rows.push(row)
  }
}
