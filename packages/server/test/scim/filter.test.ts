import { assert, describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { COMPARISONS, type Filter, parseFilter, printFilter } from "../../src/scim/filter.ts"
import { ScimError } from "../../src/scim/ScimError.ts"

// Keywords are valid attribute names too; the parser tells them apart by position.
const attributePath = fc.oneof(
  fc.stringMatching(/^[A-Za-z$][\w$-]{0,8}(\.[A-Za-z$][\w$-]{0,8})?$/),
  fc.constantFrom("and", "or", "not", "pr", "eq", "true", "null", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department")
)

const value = fc.oneof(
  fc.string({ unit: "binary" }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
  fc.boolean(),
  fc.constant(null)
)

const filter: fc.Arbitrary<Filter> = fc.letrec<{ filter: Filter }>((tie) => ({
  filter: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ kind: fc.constant("compare" as const), path: attributePath, op: fc.constantFrom(...COMPARISONS), value }),
    fc.record({ kind: fc.constant("present" as const), path: attributePath }),
    fc.record({ kind: fc.constantFrom("and" as const, "or" as const), left: tie("filter"), right: tie("filter") }),
    fc.record({ kind: fc.constant("not" as const), filter: tie("filter") }),
    fc.record({ kind: fc.constant("valuePath" as const), path: attributePath, filter: tie("filter") })
  )
})).filter

// Fragments of real filters, so random input often gets deep into the grammar before it breaks.
const garbage = fc.oneof(
  fc.string({ unit: "binary" }),
  fc
    .array(fc.constantFrom("userName", " eq ", ' "a"', " and ", " or ", "not", "(", ")", "[", "]", " pr", "1e", '"\\', "-", " ", "gt"), {
      maxLength: 30
    })
    .map((parts) => parts.join(""))
)

describe("SCIM filter parser", () => {
  it("reads back what it prints", () => {
    fc.assert(
      fc.property(filter, (f) => {
        expect(parseFilter(printFilter(f))).toEqual(f)
      })
    )
  })

  it("answers anything with a filter or an invalidFilter error, never a throw", () => {
    fc.assert(
      fc.property(garbage, (text) => {
        const parsed = parseFilter(text)
        if (parsed instanceof ScimError) assert.strictEqual(parsed.scimType, "invalidFilter")
        else assert.strictEqual(parseFilter(printFilter(parsed)) instanceof ScimError, false)
      })
    )
  })

  it("reads what Okta and Entra ID send, with keywords in any case", () => {
    assert.deepStrictEqual(parseFilter('userName EQ "ada@example.com" And externalId eq "00u1"'), {
      kind: "and",
      left: { kind: "compare", path: "userName", op: "eq", value: "ada@example.com" },
      right: { kind: "compare", path: "externalId", op: "eq", value: "00u1" }
    })
    assert.deepStrictEqual(parseFilter('id eq "R3JvdXA" and members[value eq "ada"]'), {
      kind: "and",
      left: { kind: "compare", path: "id", op: "eq", value: "R3JvdXA" },
      right: { kind: "valuePath", path: "members", filter: { kind: "compare", path: "value", op: "eq", value: "ada" } }
    })
    // `and` binds tighter than `or`.
    assert.strictEqual(printFilter(parseFilter("a pr or b pr and c pr") as Filter), "a pr or b pr and c pr")
    assert.strictEqual((parseFilter("(a pr or b pr) and c pr") as Filter).kind, "and")
  })

  it("says where it stopped reading", () => {
    const detail = (text: string) => (parseFilter(text) as ScimError).detail
    assert.include(detail('userName eq "ada'), "cannot read")
    assert.include(detail("userName is 3"), 'expected an operator after userName but found "is"')
    assert.include(detail('userName eq "a" extra'), 'unexpected "extra"')
    assert.include(detail("(a pr"), 'expected ")"')
    assert.include(detail(`${"(".repeat(40)}a pr${")".repeat(40)}`), "nests deeper")
  })
})
