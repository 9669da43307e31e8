import { execFile, execFileSync } from "node:child_process"
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { type Json, scalarString, toYaml, toYamlDocuments } from "../../src/ops/install/yaml.ts"

// PyYAML is a YAML 1.1 parser, the strictest reading there is of `yes`, `on`, `1e3` and the like.
const PYYAML = "import sys, json, yaml; print(json.dumps(list(yaml.safe_load_all(sys.stdin.read()))))"
const pyyaml = (() => {
  try {
    execFileSync("python3", ["-c", "import yaml"], { stdio: "ignore", timeout: 10_000 })
    return true
  } catch {
    return false
  }
})()
const parseWithPyYaml = (text: string) =>
  new Promise<ReadonlyArray<unknown>>((resolve, reject) => {
    const child = execFile("python3", ["-c", PYYAML], { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`PyYAML: ${stderr || err.message}`)) : resolve(JSON.parse(stdout))
    )
    child.stdin?.end(text)
  })

/** What JSON itself would make of the value: the round trip is held to that. */
const viaJson = (v: unknown) => JSON.parse(JSON.stringify(v))

// Strings that YAML parsers like to read as something else.
const tricky = [
  "",
  " ",
  "yes",
  "No",
  "ON",
  "off",
  "y",
  "N",
  "true",
  "False",
  "null",
  "Null",
  "~",
  "-",
  "- a",
  "a: b",
  "a:",
  ":a",
  "#x",
  "x #y",
  "&a",
  "*a",
  "!tag",
  "%x",
  "@x",
  "`x",
  "|",
  ">",
  "?",
  "[a]",
  "{a}",
  "'q'",
  '"q"',
  "=",
  "<<",
  "1",
  "-1",
  "0x1F",
  "0o17",
  "017",
  "1_000",
  "1e3",
  "1.5",
  ".5",
  ".inf",
  "-.inf",
  ".nan",
  "12:30",
  "2024-01-01",
  "2001-12-14t21:59:43.10-05:00",
  "a\nb",
  "a\r\nb",
  "tab\there",
  "trailing ",
  " leading",
  "é",
  "😀",
  "\u2028",
  "\u0085",
  "\u007f",
  "\u0000",
  "ghcr.io/clawfleet/server:1.0",
  "app.kubernetes.io/name",
  "/healthz"
]

describe("toYaml", () => {
  it("writes Kubernetes-shaped data the way people write it", () => {
    expect(
      toYaml({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "x", labels: { "app.kubernetes.io/name": "x" }, annotations: {} },
        spec: { ports: [{ name: "http", port: 80 }], selector: { on: "yes" }, ipFamilies: [], extra: [[1, 2], []] }
      })
    ).toBe(
      [
        "apiVersion: v1",
        "kind: Service",
        "metadata:",
        "  name: x",
        "  labels:",
        "    app.kubernetes.io/name: x",
        "  annotations: {}",
        "spec:",
        "  ports:",
        "    - name: http",
        "      port: 80",
        "  selector:",
        '    "on": "yes"',
        "  ipFamilies: []",
        "  extra:",
        "    - - 1",
        "      - 2",
        "    - []",
        ""
      ].join("\n")
    )
    expect(toYamlDocuments([{ a: 1 }, { b: [true, null] }])).toBe("---\na: 1\n---\nb:\n  - true\n  - null\n")
  })

  it("quotes every string a parser could take for something else, and only printable ASCII goes out raw", () => {
    for (const s of tricky.filter((t) => !["ghcr.io/clawfleet/server:1.0", "app.kubernetes.io/name", "/healthz"].includes(t))) {
      expect(scalarString(s), JSON.stringify(s)).toMatch(/^".*"$/)
    }
    expect(scalarString("ghcr.io/clawfleet/server:1.0")).toBe("ghcr.io/clawfleet/server:1.0")
    expect(toYaml(tricky)).toMatch(/^[\x20-\x7e\n]*$/)
  })

  it("writes numbers JSON would write, with a dot before any exponent", () => {
    expect(toYaml([0, -0, 1.5, -2, 1e21, 5e-324, 2 ** 60])).toBe("- 0\n- 0\n- 1.5\n- -2\n- 1.0e+21\n- 5.0e-324\n- 1152921504606847000\n")
    expect(() => toYaml(Number.NaN)).toThrow(/not a JSON number/)
  })

  it.skipIf(!pyyaml)("reads back as the same JSON in a YAML 1.1 parser: the tricky strings", async () => {
    const docs: ReadonlyArray<Json> = [tricky, Object.fromEntries(tricky.map((t, i) => [t, i])), { nested: { list: [tricky] } }]
    expect(await parseWithPyYaml(toYamlDocuments(docs))).toStrictEqual(viaJson(docs))
  })

  it.skipIf(!pyyaml)("reads back as the same JSON in a YAML 1.1 parser: any JSON value (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue({ maxDepth: 4 }), { minLength: 1, maxLength: 20 }), async (values) => {
        expect(await parseWithPyYaml(toYamlDocuments(values as ReadonlyArray<Json>))).toStrictEqual(viaJson(values))
      }),
      { numRuns: 40 }
    )
  })
})
