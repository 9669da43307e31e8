import { type Family, isLabelName, isMetricName, type MetricType, renderExposition, type Sample } from "./exposition.ts"

/** One value per declared label name. */
export type LabelValues<L extends string> = { readonly [K in L]: string }

export interface Counter<L extends string> {
  /** Adds `by` (default 1, never negative: a counter only goes up, or resets when the process does). */
  readonly inc: (labels: LabelValues<L>, by?: number) => void
}

export interface Gauge<L extends string> {
  readonly set: (labels: LabelValues<L>, value: number) => void
  readonly inc: (labels: LabelValues<L>, by?: number) => void
  readonly dec: (labels: LabelValues<L>, by?: number) => void
  /**
   * Reads the series at scrape time instead of holding a value: for what something else already
   * counts (a queue's size, the process's memory), so the two can never drift apart.
   */
  readonly collectWith: (labels: LabelValues<L>, read: () => number) => void
}

export interface Histogram<L extends string> {
  /** Counts `value` into the first bucket whose upper bound is at least it. Non-finite values are dropped. */
  readonly observe: (labels: LabelValues<L>, value: number) => void
  readonly buckets: ReadonlyArray<number>
}

/** Prometheus's client defaults, in seconds: request latencies from 5 ms to 10 s. */
export const DEFAULT_BUCKETS: ReadonlyArray<number> = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

interface Series<V> {
  readonly values: ReadonlyArray<string>
  state: V
}

// Series are kept by the JSON of their label values: unambiguous whatever the values contain.
const seriesTable = <V>(labelNames: ReadonlyArray<string>, initial: () => V) => {
  const table = new Map<string, Series<V>>()
  return {
    get: (labels: Readonly<Record<string, string>>): Series<V> => {
      const values = labelNames.map((n) => labels[n] ?? "")
      const key = JSON.stringify(values)
      let s = table.get(key)
      if (s === undefined) table.set(key, (s = { values, state: initial() }))
      return s
    },
    // Sorted by label values, so a scrape reads the same whatever order the series appeared in.
    sorted: (): ReadonlyArray<Series<V>> => [...table.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s)
  }
}

const pairs = (names: ReadonlyArray<string>, values: ReadonlyArray<string>) => names.map((n, i) => [n, values[i] ?? ""] as const)

const checkAmount = (what: string, by: number) => {
  if (!Number.isFinite(by) || by < 0) throw new RangeError(`${what}: can only grow by a finite, non-negative amount, got ${by}`)
}

/**
 * A small metrics registry without dependencies: counters, gauges and histograms with fixed label
 * names, rendered in the Prometheus text format on every scrape. Metrics are created once, at
 * start; observing is a map lookup and an addition.
 */
export class Registry {
  readonly #families: Array<{ readonly name: string; readonly collect: () => Family }> = []

  #register(name: string, labelNames: ReadonlyArray<string>, reserved: ReadonlyArray<string> = []) {
    if (!isMetricName(name)) throw new Error(`metric name "${name}" is not a valid Prometheus metric name`)
    if (this.#families.some((f) => f.name === name)) throw new Error(`metric "${name}" is registered twice`)
    for (const l of labelNames) {
      if (!isLabelName(l) || reserved.includes(l)) throw new Error(`metric "${name}": "${l}" cannot be a label name`)
    }
    if (new Set(labelNames).size !== labelNames.length) throw new Error(`metric "${name}": a label name is declared twice`)
  }

  counter<L extends string = never>(name: string, help: string, labelNames: ReadonlyArray<L> = []): Counter<L> {
    this.#register(name, labelNames)
    const series = seriesTable(labelNames, () => 0)
    // Unlabelled counters and histograms exist from the start at 0, so `rate()` sees the first increment.
    if (labelNames.length === 0) series.get({})
    this.#families.push({
      name,
      collect: () => ({
        name,
        help,
        type: "counter",
        samples: series.sorted().map((s) => ({ name, labels: pairs(labelNames, s.values), value: s.state }))
      })
    })
    return {
      inc: (labels, by = 1) => {
        checkAmount(name, by)
        series.get(labels).state += by
      }
    }
  }

  gauge<L extends string = never>(name: string, help: string, labelNames: ReadonlyArray<L> = []): Gauge<L> {
    this.#register(name, labelNames)
    const series = seriesTable<{ value: number; read?: () => number }>(labelNames, () => ({ value: 0 }))
    const samples = (): ReadonlyArray<Sample> =>
      series.sorted().flatMap((s) => {
        if (s.state.read === undefined) return [{ name, labels: pairs(labelNames, s.values), value: s.state.value }]
        try {
          return [{ name, labels: pairs(labelNames, s.values), value: s.state.read() }]
        } catch {
          // A reader that fails loses its series for this scrape, not the whole scrape.
          return []
        }
      })
    this.#families.push({ name, collect: () => ({ name, help, type: "gauge", samples: samples() }) })
    const held = (labels: LabelValues<L>) => {
      const s = series.get(labels)
      delete s.state.read
      return s.state
    }
    return {
      set: (labels, value) => {
        held(labels).value = value
      },
      inc: (labels, by = 1) => {
        held(labels).value += by
      },
      dec: (labels, by = 1) => {
        held(labels).value -= by
      },
      collectWith: (labels, read) => {
        series.get(labels).state.read = read
      }
    }
  }

  histogram<L extends string = never>(
    name: string,
    help: string,
    labelNames: ReadonlyArray<L> = [],
    buckets: ReadonlyArray<number> = DEFAULT_BUCKETS
  ): Histogram<L> {
    this.#register(name, labelNames, ["le"])
    const bounds = buckets.at(-1) === Number.POSITIVE_INFINITY ? buckets.slice(0, -1) : [...buckets]
    if (bounds.length === 0 || bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!))) {
      throw new Error(`histogram "${name}": buckets must be finite and strictly increasing`)
    }
    // Counts per bucket, not cumulative (the last one is +Inf); cumulated when rendered.
    const series = seriesTable(labelNames, () => ({ counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 }))
    if (labelNames.length === 0) series.get({})
    const les = [...bounds.map(String), "+Inf"]
    const samples = (): ReadonlyArray<Sample> =>
      series.sorted().flatMap((s) => {
        const labels = pairs(labelNames, s.values)
        let cumulative = 0
        return [
          ...s.state.counts.map((c, i) => ({
            name: `${name}_bucket`,
            labels: [...labels, ["le", les[i]!] as const],
            value: (cumulative += c)
          })),
          { name: `${name}_sum`, labels, value: s.state.sum },
          { name: `${name}_count`, labels, value: s.state.count }
        ]
      })
    this.#families.push({ name, collect: () => ({ name, help, type: "histogram", samples: samples() }) })
    return {
      buckets: bounds,
      observe: (labels, value) => {
        // NaN or an infinity would poison the sum for the life of the process.
        if (!Number.isFinite(value)) return
        const state = series.get(labels).state
        let i = 0
        while (i < bounds.length && value > bounds[i]!) i++
        state.counts[i]!++
        state.sum += value
        state.count++
      }
    }
  }

  /** What a scrape would read now, family by family in registration order. */
  collect(): ReadonlyArray<Family> {
    return this.#families.map((f) => f.collect())
  }

  /** The Prometheus text exposition (format 0.0.4) of every metric. */
  render(): string {
    return renderExposition(this.collect())
  }
}

export type { Family, MetricType, Sample }
