import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { canonicalJson } from "../src/internal/auditHash.ts"
import { jsonClone, jsonEqual } from "../src/internal/json.ts"

// Values JSON has rules for: undefined members, Dates, non-finite numbers, boxed primitives, toJSON.
const awkward = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.jsonValue(),
    fc.constantFrom(undefined, Number.NaN, Number.POSITIVE_INFINITY, -0),
    fc.date({ noInvalidDate: true }),
    fc.string().map((s) => ({ toJSON: (key: string) => `${key}:${s}` })),
    fc.constantFrom(new Number(3), new String("boxed"), new Boolean(false)),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie("value"), { maxKeys: 4 })
  )
})).value

const reorder = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(reorder)
  if (v !== null && typeof v === "object")
    return Object.fromEntries(
      Object.entries(v)
        .reverse()
        .map(([k, x]) => [k, reorder(x)])
    )
  return v
}

describe("jsonClone", () => {
  it("returns what a JSON round trip returns", () => {
    fc.assert(
      fc.property(awkward, (v) => {
        const viaString = JSON.stringify(v)
        expect(jsonClone(v)).toStrictEqual(viaString === undefined ? undefined : JSON.parse(viaString))
      })
    )
  })

  it("shares nothing with its input", () => {
    const input = { a: { b: [1, { c: 2 }] } }
    const copy = jsonClone(input) as typeof input
    ;(input.a.b[1] as { c: number }).c = 99
    expect(copy.a.b[1]).toStrictEqual({ c: 2 })
  })

  it("refuses cycles and bigints as JSON.stringify does", () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => jsonClone(cyclic)).toThrow(/circular/)
    expect(() => jsonClone({ n: 1n })).toThrow(/BigInt/)
    const shared = { x: 1 }
    expect(jsonClone([shared, shared])).toStrictEqual([{ x: 1 }, { x: 1 }])
  })
})

describe("jsonEqual", () => {
  it("agrees with comparing canonical JSON", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        expect(jsonEqual(a, b)).toBe(canonicalJson(a) === canonicalJson(b))
      })
    )
  })

  it("ignores key order and undefined members", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(jsonEqual(v, reorder(v))).toBe(true)
      })
    )
    expect(jsonEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true)
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false)
    expect(jsonEqual([1, 2], { 0: 1, 1: 2 })).toBe(false)
  })
})
