/**
 * The Prometheus text exposition format, version 0.0.4: what every Prometheus, VictoriaMetrics,
 * Grafana Agent or OpenTelemetry collector scrapes. Pure rendering of already-collected samples;
 * `Registry` decides what the samples are.
 */

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

export type MetricType = "counter" | "gauge" | "histogram"

export interface Sample {
  /** The family name plus a suffix where the type has one (`_bucket`, `_sum`, `_count`). */
  readonly name: string
  readonly labels: ReadonlyArray<readonly [name: string, value: string]>
  readonly value: number
}

export interface Family {
  readonly name: string
  readonly help: string
  readonly type: MetricType
  readonly samples: ReadonlyArray<Sample>
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

export const isMetricName = (name: string) => METRIC_NAME.test(name)
/** Names starting with `__` are reserved for Prometheus itself. */
export const isLabelName = (name: string) => LABEL_NAME.test(name) && !name.startsWith("__")

/** In HELP text only the backslash and the line feed are special. */
export const escapeHelp = (text: string) => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

/** In label values the double quote is special too. */
export const escapeLabelValue = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")

/** Go's float syntax, which the scraper parses: `+Inf`, `-Inf` and `NaN` are spelled out. */
export const formatValue = (value: number): string => {
  if (Number.isNaN(value)) return "NaN"
  if (value === Number.POSITIVE_INFINITY) return "+Inf"
  if (value === Number.NEGATIVE_INFINITY) return "-Inf"
  return String(value)
}

const renderLabels = (labels: Sample["labels"]) =>
  labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`

/** Every family with its HELP and TYPE lines, in the order given; ends with a line feed. */
export const renderExposition = (families: ReadonlyArray<Family>): string => {
  const lines: Array<string> = []
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`)
    for (const s of f.samples) lines.push(`${s.name}${renderLabels(s.labels)} ${formatValue(s.value)}`)
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`
}
