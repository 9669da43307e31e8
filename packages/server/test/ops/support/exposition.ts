/**
 * Reads samples back out of the Prometheus text format, as a scraper would: enough of the format
 * for the tests (label values may hold any escaped character).
 */
export interface ParsedSample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const unescapeLabel = (v: string) => v.replace(/\\(\\|"|n)/g, (_, c: string) => (c === "n" ? "\n" : c))

export const parseSamples = (text: string): ReadonlyArray<ParsedSample> =>
  text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/s.exec(line)
      if (m === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`)
      const labels: Record<string, string> = {}
      for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/gs)) labels[l[1]!] = unescapeLabel(l[2]!)
      const raw = m[3]!
      const value = raw === "+Inf" ? Number.POSITIVE_INFINITY : raw === "-Inf" ? Number.NEGATIVE_INFINITY : Number(raw)
      return { name: m[1]!, labels, value }
    })

/** The value of the one sample with this name and (at least) these labels; undefined when there is none. */
export const sampleValue = (text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined => {
  const found = parseSamples(text).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`)
  return found[0]?.value
}
