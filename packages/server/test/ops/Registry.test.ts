import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { escapeLabelValue, formatValue } from "../../src/ops/metrics/exposition.ts"
import { Registry } from "../../src/ops/metrics/Registry.ts"
import { parseSamples } from "./support/exposition.ts"

describe("Registry: the Prometheus text exposition format 0.0.4", () => {
  it("renders counters, gauges and histograms exactly", () => {
    const r = new Registry()
    const requests = r.counter("demo_requests_total", "Requests served.", ["route", "code"])
    requests.inc({ route: "/b", code: "500" })
    requests.inc({ route: "/a", code: "200" }, 3)
    r.counter("demo_restarts_total", "Never incremented, yet present.")
    r.gauge("demo_queue_depth", 'Work waiting.\nA second line, a \\ and a "quote".').set({}, 7)
    const latency = r.histogram("demo_latency_seconds", "Latency.", ["route"], [0.1, 1])
    for (const v of [0.25, 0.5, 4, 0.1]) latency.observe({ route: "/a" }, v)
    r.counter("demo_empty_total", "Labelled, never incremented: no series yet.", ["kind"])

    expect(r.render()).toBe(
      [
        "# HELP demo_requests_total Requests served.",
        "# TYPE demo_requests_total counter",
        'demo_requests_total{route="/a",code="200"} 3',
        'demo_requests_total{route="/b",code="500"} 1',
        "# HELP demo_restarts_total Never incremented, yet present.",
        "# TYPE demo_restarts_total counter",
        "demo_restarts_total 0",
        '# HELP demo_queue_depth Work waiting.\\nA second line, a \\\\ and a "quote".',
        "# TYPE demo_queue_depth gauge",
        "demo_queue_depth 7",
        "# HELP demo_latency_seconds Latency.",
        "# TYPE demo_latency_seconds histogram",
        'demo_latency_seconds_bucket{route="/a",le="0.1"} 1',
        'demo_latency_seconds_bucket{route="/a",le="1"} 3',
        'demo_latency_seconds_bucket{route="/a",le="+Inf"} 4',
        'demo_latency_seconds_sum{route="/a"} 4.85',
        'demo_latency_seconds_count{route="/a"} 4',
        "# HELP demo_empty_total Labelled, never incremented: no series yet.",
        "# TYPE demo_empty_total counter",
        ""
      ].join("\n")
    )
  })

  it("escapes backslash, double quote and line feed in label values, and nothing else", () => {
    const r = new Registry()
    r.counter("demo_total", "Demo.", ["path"]).inc({ path: 'C:\\dir "quoted"\nnext\tline' })
    expect(r.render().split("\n")[2]).toBe('demo_total{path="C:\\\\dir \\"quoted\\"\\nnext\tline"} 1')
  })

  it("renders any label value on one line that reads back as the same value", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (value) => {
        const r = new Registry()
        r.gauge("g", "G.", ["v"]).set({ v: value }, 1)
        const lines = r.render().split("\n")
        expect(lines).toHaveLength(4)
        expect(parseSamples(r.render())[0]!.labels.v).toBe(value)
        expect(escapeLabelValue(value)).not.toMatch(/\n/)
      })
    )
  })

  it("spells out the special float values", () => {
    expect([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 0.5, -2, 1e21].map(formatValue)).toStrictEqual([
      "+Inf",
      "-Inf",
      "NaN",
      "0.5",
      "-2",
      "1e+21"
    ])
  })

  it("keeps histogram buckets cumulative: non-decreasing, +Inf equal to the count, the sum of what was observed", () => {
    const bounds = fc
      .uniqueArray(fc.double({ min: -1000, max: 1000, noNaN: true }), { minLength: 1, maxLength: 12 })
      .map((bs) => [...bs].sort((a, b) => a - b))
      .filter((bs) => bs.every((b, i) => i === 0 || b > bs[i - 1]!))
    const observations = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 200 })
    fc.assert(
      fc.property(bounds, observations, (buckets, values) => {
        const r = new Registry()
        const h = r.histogram("h", "H.", [], buckets)
        for (const v of values) h.observe({}, v)
        const samples = parseSamples(r.render())
        const bucketCounts = samples.filter((s) => s.name === "h_bucket")
        expect(bucketCounts.map((s) => s.labels.le)).toStrictEqual([...buckets.map(String), "+Inf"])
        for (let i = 1; i < bucketCounts.length; i++) expect(bucketCounts[i]!.value).toBeGreaterThanOrEqual(bucketCounts[i - 1]!.value)
        // Each bucket holds exactly the observations at or below its bound.
        for (const [i, le] of buckets.entries()) expect(bucketCounts[i]!.value).toBe(values.filter((v) => v <= le).length)
        const count = samples.find((s) => s.name === "h_count")!.value
        expect(bucketCounts.at(-1)!.value).toBe(count)
        expect(count).toBe(values.length)
        const sum = samples.find((s) => s.name === "h_sum")!.value
        expect(sum === values.reduce((a, b) => a + b, 0)).toBe(true)
      })
    )
  })

  it("drops non-finite observations instead of poisoning the sum", () => {
    const r = new Registry()
    const h = r.histogram("h", "H.", [], [1])
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, 0.5]) h.observe({}, v)
    expect(r.render()).toContain("h_sum 0.5\nh_count 1\n")
  })

  it("refuses what Prometheus would reject, when the metric is registered", () => {
    const r = new Registry()
    r.counter("ok_total", "Fine.")
    expect(() => r.counter("ok_total", "Again.")).toThrow(/registered twice/)
    expect(() => r.counter("bad-name", "Dash.")).toThrow(/not a valid Prometheus metric name/)
    expect(() => r.counter("x_total", "X.", ["__reserved"])).toThrow(/cannot be a label name/)
    expect(() => r.histogram("h", "H.", ["le"])).toThrow(/cannot be a label name/)
    expect(() => r.histogram("h2", "H.", [], [1, 1])).toThrow(/strictly increasing/)
    expect(() => r.counter("c_total", "C.").inc({}, -1)).toThrow(/non-negative/)
  })

  it("reads a collected gauge at scrape time, and drops only its series when the reader throws", () => {
    const r = new Registry()
    let depth = 3
    const g = r.gauge("depth", "Depth.", ["queue"])
    g.collectWith({ queue: "a" }, () => depth)
    g.collectWith({ queue: "b" }, () => {
      throw new Error("gone")
    })
    expect(r.render()).toContain('depth{queue="a"} 3\n')
    depth = 5
    expect(r.render()).toContain('depth{queue="a"} 5\n')
    expect(r.render()).not.toContain('queue="b"')
  })
})
