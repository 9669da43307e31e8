import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Clawfleet, subjectKey } from "@clawfleet/core"
import {
  applyFleetFile,
  FleetFileError,
  FleetSpec,
  type FleetState,
  parseFleetFile,
  readFleetState,
  renderPlan
} from "@clawfleet/core/fleet-file"
import { assert, describe, it } from "@effect/vitest"
import { Ajv2020 } from "ajv/dist/2020.js"
import { Effect, Schema } from "effect"
import { runApply } from "../fleet-file/apply.ts"
import { schemaPath, schemaText } from "../fleet-file/schema.ts"

const fleetPath = fileURLToPath(new URL("../fleet-file/fleet.yaml", import.meta.url))
const fleetText = await readFile(fleetPath, "utf8")

const run = <A, E>(self: Effect.Effect<A, E, Clawfleet.Services>) => Effect.provide(self, Clawfleet.layerMemory)

/** Applies `text` (named fleet.yaml in messages) to the store. */
const applyText = (text: string) => Effect.flatMap(parseFleetFile(text, "fleet.yaml"), (file) => applyFleetFile(file))

/** The store as plain data, to compare before and after. */
const snapshot = Effect.map(readFleetState({ grants: true }), (s: FleetState) => ({
  departments: [...s.departments.keys()].sort(),
  teams: [...s.teams.keys()].sort(),
  people: [...s.people.values()].map((p) => `${p.id}:${p.team ?? "-"}:${p.disabled}`).sort(),
  tenants: [...s.tenants.keys()].sort(),
  grants: s.grants.map((g) => `${g.effect} ${subjectKey(g.subject)} ${g.resource.kind}:${g.resource.name}`).sort()
}))

/** The file's problems; any other failure fails the test. */
const failure = <A, E>(self: Effect.Effect<A, E, Clawfleet.Services>) =>
  Effect.flatMap(Effect.flip(self), (e) => (e instanceof FleetFileError ? Effect.succeed(e) : Effect.die(e)))

describe("fleet-file with the SDK", () => {
  it.effect("applies the example to an empty store, then plans no changes", () =>
    run(
      Effect.gen(function* () {
        const first = yield* applyText(fleetText)
        assert.deepStrictEqual(first.failed, [])
        assert.strictEqual(first.applied, first.plan.changes.length)
        const s = yield* snapshot
        assert.deepStrictEqual(s.departments, ["engineering", "sales"])
        assert.deepStrictEqual(s.teams, ["data", "field", "platform"])
        assert.lengthOf(s.people, 6)
        // Everybody has an assistant but linus.
        assert.deepStrictEqual(s.tenants, ["ada", "barbara", "edsger", "grace", "mary"])
        assert.includeMembers(s.grants, [
          "allow org model:*",
          "allow department:engineering egress:*.github.com",
          "allow team:platform tool:kubectl",
          "allow person:grace skill:code-review",
          "deny department:sales egress:api.competitor.example"
        ])
        assert.lengthOf(s.grants, 6)

        const second = yield* applyText(fleetText)
        assert.lengthOf(second.plan.changes, 0)
        assert.deepStrictEqual(renderPlan(second.plan, "store"), ["No changes: the store matches the fleet file."])
      })
    )
  )

  it.effect("removes a grant the file no longer lists, and leaves grants alone without a grants key", () =>
    run(
      Effect.gen(function* () {
        yield* applyText(fleetText)
        const withoutKubectl = fleetText.replace(
          "  - subject: { kind: team, id: platform }\n    resource: { kind: tool, name: kubectl }\n",
          ""
        )
        assert.notStrictEqual(withoutKubectl, fleetText)
        const removed = yield* applyText(withoutKubectl)
        assert.deepStrictEqual(
          removed.plan.changes.map((c) => `${c.action} ${c.kind} ${c.id}`),
          ["delete grant allow team:platform tool:kubectl"]
        )
        const text = renderPlan(removed.plan).join("\n")
        assert.include(text, "- grant allow team:platform tool:kubectl (not in the fleet file's grants)")
        assert.include(text, "grants on the server that it does not list are removed")
        assert.notInclude((yield* snapshot).grants, "allow team:platform tool:kubectl")

        // Without the key, the server's grants are nobody's business of the file.
        const noGrants = yield* applyText(fleetText.slice(0, fleetText.indexOf("grants:")))
        assert.lengthOf(noGrants.plan.changes, 0)
        assert.lengthOf((yield* snapshot).grants, 5)
      })
    )
  )

  it.effect("a bad file fails with file:line problems and changes nothing", () =>
    run(
      Effect.gen(function* () {
        yield* applyText(fleetText)
        const before = yield* snapshot

        const invalid = yield* failure(
          applyText(
            fleetText
              .replace("email: edsger@example.com", "email: edsger-at-example")
              .replace("team: field }", "team: field, manager: ada }")
          )
        )
        assert.include(invalid.message, "fleet.yaml does not describe a fleet")
        assert.include(invalid.message, "fleet.yaml:29: people[2].email: must be an e-mail address")
        assert.match(invalid.message, /fleet\.yaml:31: people\[4\]\.manager: /)

        const unknown = yield* failure(
          applyText(fleetText.replace("team: data }", "team: dta }").replace("{ kind: person, id: grace }", "{ kind: person, id: gracie }"))
        )
        assert.include(unknown.message, "the fleet file does not fit the server")
        assert.include(unknown.message, 'fleet.yaml:29: people[2].team: team "dta" is neither in the file nor on the server')
        assert.include(unknown.message, 'fleet.yaml:47: grants[4].subject.id: person "gracie" is neither in the file nor on the server')

        const twice = yield* failure(applyText(`${fleetText}  - subject: { kind: org }\n    resource: { kind: model, name: "*" }\n`))
        assert.include(twice.message, 'fleet.yaml:53: grants[6]: "allow org model:*" is listed twice')

        assert.deepStrictEqual(yield* snapshot, before)
      })
    )
  )
})

describe("fleet-file/apply.ts", () => {
  // Opens the same PGlite database twice, one run after the other: slower than the memory store.
  it("prints the plan and applies it; a second run over the same store prints No changes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fleet-file-"))
    try {
      const lines: Array<string> = []
      assert.strictEqual(await runApply([fleetPath, "--dry-run"], (l) => lines.push(l)), 0)
      assert.include(lines, "Plan: 22 to add, 0 to change, 0 to remove.")
      assert.notInclude(lines.join("\n"), "Applied")
      lines.length = 0
      assert.strictEqual(await runApply([fleetPath, "--pglite", dir], (l) => lines.push(l)), 0)
      assert.include(lines, "+ grant deny department:sales egress:api.competitor.example")
      assert.include(lines, "Applied 22 of 22 changes.")
      lines.length = 0
      assert.strictEqual(await runApply([fleetPath, "--pglite", dir], (l) => lines.push(l)), 0)
      assert.deepStrictEqual(lines, ["No changes: the store matches the fleet file."])

      const bad = join(dir, "bad.yaml")
      await writeFile(bad, "people:\n  - { id: ada, email: nope, displayName: Ada }\n")
      lines.length = 0
      assert.strictEqual(await runApply([bad], (l) => lines.push(l)), 2)
      assert.include(lines.join("\n"), `${bad}:2: people[0].email: must be an e-mail address`)
      assert.strictEqual(await runApply([], (l) => lines.push(l)), 2)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 120_000)
})

describe("fleet.schema.json", () => {
  const validate = new Ajv2020({ strict: false, allErrors: true }).compile(JSON.parse(schemaText()))
  // The file as data: parsed and checked by core, then encoded back (the schemas transform nothing).
  const example = Schema.encodeSync(FleetSpec)(Effect.runSync(parseFleetFile(fleetText, "fleet.yaml")).spec)

  it("is the schema generated from FleetSpec (regenerate with npm run fleet-schema -w @clawfleet/examples)", async () => {
    assert.deepStrictEqual(JSON.parse(await readFile(schemaPath, "utf8")), JSON.parse(schemaText()))
  })

  it("accepts the example fleet.yaml and refuses unknown fields and wrong kinds", () => {
    assert.isTrue(validate(example), JSON.stringify(validate.errors))
    assert.isFalse(validate({ ...example, colour: "blue" }))
    assert.isFalse(validate({ people: [{ id: "ada", email: "ada@example.com", displayName: "Ada", tenant: true }] }))
    assert.isFalse(validate({ grants: [{ subject: { kind: "everyone" }, resource: { kind: "model", name: "*" } }] }))
  })
})
