import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeFixture } from "../api/support.ts"
import { ALL_SCOPES, cli, generateFleet, tempDir, writeText } from "./support.ts"

const lines = (text: string, prefix: string) => text.split("\n").filter((l) => l.startsWith(prefix))

describe("clawfleet plan / apply", () => {
  it.live(
    "a 500-person fleet: plan, apply, apply again (no changes), then one team change and one version bump",
    () =>
      Effect.gen(function* () {
        const f = yield* makeFixture()
        const env = { CLAWFLEET_SERVER: f.origin, CLAWFLEET_TOKEN: yield* f.token("root", ALL_SCOPES) }
        const dir = yield* tempDir
        const file = path.join(dir, "fleet.yaml")
        yield* writeText(file, generateFleet({ departments: 10, teams: 50, people: 500, version: "2026.9.6" }))

        const plan = yield* cli(["plan", "-f", file, "--detailed-exitcode"], env)
        assert.strictEqual(plan.code, 3, plan.stderr)
        assert.strictEqual(lines(plan.stdout, "+ department ").length, 10)
        assert.strictEqual(lines(plan.stdout, "+ team ").length, 50)
        assert.strictEqual(lines(plan.stdout, "+ person ").length, 500)
        assert.strictEqual(lines(plan.stdout, "+ tenant ").length, 500)
        assert.include(plan.stdout, "+ person person-007 (team team-007)")
        assert.include(plan.stdout, "+ tenant person-007 (owner person-007, openclaw 2026.9.6)")
        assert.include(plan.stdout, "Plan: 1060 to add, 0 to change, 0 to remove.")
        assert.lengthOf(lines(plan.stdout, "~ "), 0)
        assert.lengthOf(lines(plan.stdout, "- "), 0)

        const started = Date.now()
        const applied = yield* cli(["apply", "-f", file], env)
        const millis = Date.now() - started
        assert.strictEqual(applied.code, 0, applied.stderr)
        assert.include(applied.stdout, "Applied 1060 of 1060 changes.")
        assert.include(applied.stderr, "applying: 1060/1060 changes")
        console.log(`apply of 1060 changes took ${millis} ms`)

        const people = yield* cli(["people", "list", "--output", "json"], env)
        assert.strictEqual(people.code, 0)
        assert.strictEqual((JSON.parse(people.stdout) as Array<unknown>).length, 506)

        const again = yield* cli(["apply", "-f", file], env)
        assert.strictEqual(again.code, 0, again.stderr)
        assert.strictEqual(again.stdout, "No changes: the server matches the fleet file.")
        const noChanges = yield* cli(["plan", "-f", file, "--detailed-exitcode"], env)
        assert.strictEqual(noChanges.code, 0)

        yield* writeText(
          file,
          generateFleet({
            departments: 10,
            teams: 50,
            people: 500,
            version: "2026.9.6",
            team: (i) => (i === 3 ? "team-004" : undefined),
            personVersion: (i) => (i === 42 ? "2026.9.7" : undefined)
          })
        )
        const changed = yield* cli(["plan", "-f", file, "--detailed-exitcode"], env)
        assert.strictEqual(changed.code, 3, changed.stderr)
        assert.deepStrictEqual(
          changed.stdout.split("\n").filter((l) => /^[+~-] /.test(l)),
          ["~ person person-003: team team-003 → team-004", "~ tenant person-042: openclaw.version 2026.9.6 → 2026.9.7"]
        )
        assert.include(changed.stdout, "Plan: 0 to add, 2 to change, 0 to remove.")

        const json = yield* cli(["plan", "-f", file, "--output", "json"], env)
        assert.deepStrictEqual(JSON.parse(json.stdout).summary, { add: 0, change: 2, remove: 0 })

        const second = yield* cli(["apply", "-f", file], env)
        assert.strictEqual(second.code, 0, second.stderr)
        assert.include(second.stdout, "Applied 2 of 2 changes.")
        const tenant = yield* cli(["tenants", "get", "person-042", "-o", "json"], env)
        assert.strictEqual(JSON.parse(tenant.stdout).spec.openclaw.version, "2026.9.7")
        assert.strictEqual((yield* cli(["plan", "-f", file, "--detailed-exitcode"], env)).code, 0)
      }).pipe(Effect.scoped),
    120_000
  )
})
