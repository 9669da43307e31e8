const { hrtime } = process

export interface Stats {
  readonly samples: number
  readonly p50: number
  readonly p99: number
  readonly p999: number
  readonly mean: number
}

/**
 * What a back-to-back pair of `hrtime.bigint()` reads costs, as its median. It is subtracted from
 * every individually timed call; its spread (a few tens of ns at p99 here) stays in the samples,
 * so the tails we report are slightly pessimistic, never flattered.
 */
export const timerOverheadNs = (pairs = 200_000): number => {
  const d = new Float64Array(pairs)
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < pairs; i++) {
      const t0 = hrtime.bigint()
      const t1 = hrtime.bigint()
      d[i] = Number(t1 - t0)
    }
  }
  d.sort()
  return d[pairs >> 1]!
}

/** Nearest-rank percentiles of nanosecond samples, reported in microseconds. */
export const stats = (ns: Float64Array): Stats => {
  const s = Float64Array.from(ns).sort()
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]! / 1000
  let sum = 0
  for (let i = 0; i < s.length; i++) sum += s[i]!
  return { samples: s.length, p50: at(0.5), p99: at(0.99), p999: at(0.999), mean: sum / s.length / 1000 }
}

export const ms = (fromNs: bigint): number => Number(hrtime.bigint() - fromNs) / 1e6

export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`

const num = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(3))

export const table = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)))
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ")).join("\n")
}

export const statRow = (name: string, s: Stats): Array<string> => [
  name,
  s.samples.toLocaleString("en-US"),
  num(s.p50),
  num(s.p99),
  s.samples >= 10_000 ? num(s.p999) : "-",
  num(s.mean)
]

export const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc
  if (g !== undefined) for (let i = 0; i < 3; i++) g()
}
