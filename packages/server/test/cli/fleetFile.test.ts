import { readFile } from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeFixture } from "../api/support.ts"
import { ALL_SCOPES, cli, tempDir, writeText } from "./support.ts"

/** The fleet file of the examples, applied here through the CLI and in the examples through `Fleet`. */
const exampleFleet = fileURLToPath(new URL("../../../examples/fleet-file/fleet.yaml", import.meta.url))

const grantLines = (stdout: string) => stdout.split("\n").filter((l) => / grant /.test(l))

describe("clawfleet plan / apply -f with grants", () => {
  it.live("applies the example fleet file, grants included; removes a grant the file drops; leaves grants alone without the key", () =>
    Effect.gen(function* () {
      // The fixture has department engineering, teams platform and data, and an org-wide grant of every model.
      const f = yield* makeFixture({ catalog: true })
      const env = { CLAWFLEET_SERVER: f.origin, CLAWFLEET_TOKEN: yield* f.token("root", ALL_SCOPES) }

      const plan = yield* cli(["plan", "-f", exampleFleet, "--detailed-exitcode"], env)
      assert.strictEqual(plan.code, 3, plan.stderr)
      assert.include(plan.stdout, "+ department sales (Sales)")
      assert.include(plan.stdout, "+ person linus (department sales)")
      assert.notInclude(plan.stdout, "+ tenant linus")
      // The org's grant of every model is already there: the file's reason is not compared.
      assert.deepStrictEqual(grantLines(plan.stdout), [
        "+ grant allow department:engineering egress:*.github.com",
        "+ grant allow team:platform tool:kubectl",
        "+ grant allow team:data knowledge:warehouse-docs",
        "+ grant allow person:grace skill:code-review",
        "+ grant deny department:sales egress:api.competitor.example"
      ])
      assert.include(plan.stdout, "Plan: 18 to add, 0 to change, 0 to remove.")

      const apply = yield* cli(["apply", "-f", exampleFleet], env)
      assert.strictEqual(apply.code, 0, apply.stderr)
      assert.include(apply.stdout, "Applied 18 of 18 changes.")
      const again = yield* cli(["plan", "-f", exampleFleet, "--detailed-exitcode"], env)
      assert.strictEqual(again.code, 0, again.stdout)
      assert.include(again.stdout, "No changes")

      const dir = yield* tempDir
      const text = yield* Effect.promise(() => readFile(exampleFleet, "utf8"))
      const dropped = path.join(dir, "fleet.yaml")
      yield* writeText(
        dropped,
        text.replace("  - subject: { kind: person, id: grace }\n    resource: { kind: skill, name: code-review }\n", "")
      )
      const removal = yield* cli(["plan", "-f", dropped, "-o", "json"], env)
      assert.strictEqual(removal.code, 0, removal.stderr)
      const changes = JSON.parse(removal.stdout).changes as Array<{ text: string; grantId?: string }>
      assert.deepStrictEqual(
        changes.map((c) => c.text),
        ["- grant allow person:grace skill:code-review (not in the fleet file's grants)"]
      )
      const table = yield* cli(["plan", "-f", dropped], env)
      assert.include(table.stdout, "The file has a `grants` key, so grants on the server that it does not list are removed")
      assert.strictEqual((yield* cli(["apply", "-f", dropped], env)).code, 0)
      const grants = yield* cli(["grants", "list", "-o", "json"], env)
      const ids = (JSON.parse(grants.stdout) as Array<{ id: string }>).map((g) => g.id)
      assert.lengthOf(ids, 5)
      assert.notInclude(ids, changes[0]!.grantId)

      // Without a `grants` key the server's grants are left alone, however many the file would drop.
      const noKey = path.join(dir, "no-grants.yaml")
      yield* writeText(noKey, text.slice(0, text.indexOf("grants:")))
      const untouched = yield* cli(["plan", "-f", noKey, "--detailed-exitcode"], env)
      assert.strictEqual(untouched.code, 0, untouched.stdout)

      // A grant to somebody who exists nowhere is a usage error naming its line.
      const unknown = path.join(dir, "unknown.yaml")
      yield* writeText(unknown, `${text}  - { subject: { kind: team, id: nowhere }, resource: { kind: tool, name: search } }\n`)
      const bad = yield* cli(["apply", "-f", unknown], env)
      assert.strictEqual(bad.code, 2)
      assert.include(bad.stderr, `${unknown}:53: grants[6].subject.id: team "nowhere" is neither in the file nor on the server`)
    }).pipe(Effect.scoped)
  )
})
