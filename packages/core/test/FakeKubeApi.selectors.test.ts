import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { FieldSet, pathString, toFieldSet } from "../src/testing/kubernetes/FieldPath.ts"
import { decodeFieldsV1, encodeFieldsV1 } from "../src/testing/kubernetes/FieldsV1.ts"
import { matchesLabels, parseLabelSelector } from "../src/testing/kubernetes/Selectors.ts"

type Req =
  | { readonly op: "=" | "==" | "!="; readonly key: string; readonly value: string }
  | { readonly op: "in" | "notin"; readonly key: string; readonly values: ReadonlyArray<string> }
  | { readonly op: "exists" | "!"; readonly key: string }

// The label-selector semantics of k8s.io/apimachinery, spelled out one operator at a time.
const reference = (reqs: ReadonlyArray<Req>, labels: Readonly<Record<string, string>>): boolean =>
  reqs.every((r): boolean => {
    const has = r.key in labels
    if (r.op === "=" || r.op === "==") return has && labels[r.key] === r.value
    if (r.op === "!=") return !has || labels[r.key] !== r.value
    if (r.op === "in") return has && r.values.includes(labels[r.key]!)
    if (r.op === "notin") return !has || !r.values.includes(labels[r.key]!)
    return r.op === "exists" ? has : !has
  })

const render = (r: Req, space: string): string => {
  switch (r.op) {
    case "exists":
      return r.key
    case "!":
      return `!${r.key}`
    case "in":
    case "notin":
      return `${r.key} ${r.op}${space}(${r.values.join(`,${space}`)})`
    default:
      return `${r.key}${space}${r.op}${space}${r.value}`
  }
}

const key = fc.constantFrom("app", "tier", "example.com/role", "a.b-c_d")
const value = fc.constantFrom("x", "y", "z-1", "V.2")
const req: fc.Arbitrary<Req> = fc.oneof(
  fc.record({ op: fc.constantFrom("=" as const, "==" as const, "!=" as const), key, value: fc.oneof(value, fc.constant("")) }),
  fc.record({ op: fc.constantFrom("in" as const, "notin" as const), key, values: fc.array(value, { minLength: 1, maxLength: 3 }) }),
  fc.record({ op: fc.constantFrom("exists" as const, "!" as const), key })
)
const labels = fc.dictionary(key, fc.oneof(value, fc.constant("")), { maxKeys: 4 })

describe("FakeKubeApi: label selectors", () => {
  it("matches exactly as the reference semantics, whatever the spacing", () => {
    fc.assert(
      fc.property(fc.array(req, { maxLength: 4 }), labels, fc.constantFrom("", " "), (reqs, ls, space) => {
        const selector = parseLabelSelector(reqs.map((r) => render(r, space)).join(","))
        assert.strictEqual(matchesLabels(selector, ls), reference(reqs, ls))
      }),
      { numRuns: 500 }
    )
  })

  it("rejects malformed selectors with 400 BadRequest", () => {
    for (const bad of ["a in b", "a in ()", "=x", "a=b c", "bad key!=x", "a,,b", "a=(x)"]) {
      assert.throws(() => parseLabelSelector(bad), /unable to parse requirement/, bad)
    }
    assert.deepStrictEqual(parseLabelSelector(""), [])
    assert.deepStrictEqual(parseLabelSelector("x > 3"), [{ op: "gt", key: "x", value: 3 }])
    assert.isTrue(matchesLabels(parseLabelSelector("x>3,x<10"), { x: "5" }))
    assert.isFalse(matchesLabels(parseLabelSelector("x>3"), { x: "abc" }))
  })
})

describe("FakeKubeApi: managed fields encoding", () => {
  it("encodes a field set as FieldsV1 and decodes it back unchanged", () => {
    const obj = fc.dictionary(
      fc.constantFrom("data", "labels", "spec", "x"),
      fc.oneof(
        fc.string(),
        fc.integer(),
        fc.dictionary(fc.constantFrom("a", "b", "c.d"), fc.oneof(fc.string(), fc.boolean()), { minKeys: 1 })
      ),
      { minKeys: 1 }
    )
    fc.assert(
      fc.property(obj, (o) => {
        const set = toFieldSet(o)
        assert.isTrue(decodeFieldsV1(encodeFieldsV1(set)).equals(set))
      })
    )
  })

  it("keys associative lists, marks owned parents with '.', and prints paths as conflict messages do", () => {
    const set = toFieldSet({
      spec: { containers: [{ name: "app", image: "x", ports: [{ containerPort: 80 }] }], args: ["a"] },
      metadata: { finalizers: ["f.io/x"] }
    })
    assert.deepStrictEqual(encodeFieldsV1(set), {
      "f:metadata": { "f:finalizers": { 'v:"f.io/x"': {} } },
      "f:spec": {
        "f:args": {},
        "f:containers": {
          'k:{"name":"app"}': {
            ".": {},
            "f:image": {},
            "f:name": {},
            "f:ports": { 'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {} } }
          }
        }
      }
    })
    assert.strictEqual(
      pathString(["f:spec", "f:containers", 'k:{"name":"app"}', "f:ports", 'k:{"containerPort":80,"protocol":"TCP"}', "f:containerPort"]),
      '.spec.containers[name="app"].ports[containerPort=80,protocol="TCP"].containerPort'
    )
    assert.isTrue(new FieldSet([["f:a"], ["f:b"]]).minus(new FieldSet([["f:a"]])).equals(new FieldSet([["f:b"]])))
  })
})
