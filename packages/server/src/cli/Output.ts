import { Console, type Effect } from "effect"

export type OutputFormat = "table" | "json"

/** Pretty JSON on stdout: one document, so `clawfleet … --output json | jq` works. */
export const printJson = (value: unknown): Effect.Effect<void> => Console.log(JSON.stringify(value, null, 2))

/** Columns padded to their widest cell; an empty list says so rather than printing a bare header. */
export const printTable = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): Effect.Effect<void> => {
  if (rows.length === 0) return Console.log("(none)")
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd()
  return Console.log([line(headers), ...rows.map(line)].join("\n"))
}

/** `key: value` lines for one record. */
export const printRecord = (entries: ReadonlyArray<readonly [string, string]>): Effect.Effect<void> => {
  const width = Math.max(...entries.map(([k]) => k.length))
  return Console.log(entries.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v}`).join("\n"))
}
