import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Clawfleet, Directory, Fleet, Tenants } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Random } from "effect"
import { apply, diff, parseCsv, plan, readRows, readState } from "../bulk-onboard/bulkOnboard.ts"
import { runCli } from "../bulk-onboard/main.ts"

/** An HR export of `people` people in `departments` departments and `teams` teams (ids zero-padded). */
const hrExport = (people: number, departments = 20, teams = 100) => {
  const lines = ["id,email,displayName,team,department"]
  for (let i = 0; i < people; i++) {
    const team = i % teams
    const dept = team % departments
    // Every tenth name has a comma, so it is quoted; every 25th has a quote inside.
    const name = i % 25 === 0 ? `"Person ""${i}"""` : i % 10 === 0 ? `"Doe, Person ${i}"` : `Person ${i}`
    lines.push(`p${i},p${i}@example.com,${name},team-${team},dept-${dept}`)
  }
  return `${lines.join("\n")}\n`
}

const run = <A, E>(self: Effect.Effect<A, E, Clawfleet.Services>) => Effect.provide(self, Clawfleet.layerMemory)

const counts = Effect.gen(function* () {
  const state = yield* readState
  const owners = [...state.tenants.values()]
  return { people: state.people.size, tenants: state.tenants.size, distinctOwners: new Set(owners).size, state }
})

describe("parseCsv", () => {
  it("handles quotes, escaped quotes, embedded commas and line breaks, CRLF and line numbers", () => {
    const { records, error } = parseCsv('a,b\r\n"x, y","say ""hi"""\r\n\r\n"two\nlines",z\nlast,')
    assert.isUndefined(error)
    assert.deepStrictEqual(
      records.map((r) => [r.line, ...r.fields]),
      [
        [1, "a", "b"],
        [2, "x, y", 'say "hi"'],
        [4, "two\nlines", "z"],
        [6, "last", ""]
      ]
    )
  })

  it("reports an unclosed quote with the line it opened on", () => {
    assert.strictEqual(parseCsv('a\n"open\nmore').error, "line 2: a quoted field is never closed")
  })
})

describe("bulk onboarding", () => {
  it.effect(
    "plans 5,000 people with tenants, applies them, and a second run plans nothing",
    () =>
      run(
        Effect.gen(function* () {
          const csv = hrExport(5000)
          const first = yield* plan(csv)
          assert.deepStrictEqual(first.bad, [])
          assert.deepStrictEqual(first.counts, { departments: 20, teams: 100, people: 5000, tenants: 5000, updates: 0, offboards: 0 })
          let progressCalls = 0
          const report = yield* apply(first, { concurrency: 16, onProgress: () => void progressCalls++ })
          assert.deepStrictEqual(report.failures, [])
          assert.strictEqual(report.applied, 5120)
          assert.strictEqual(progressCalls, 5120)

          const c = yield* counts
          assert.strictEqual(c.people, 5000)
          assert.strictEqual(c.tenants, 5000)
          const quoted = c.state.people.get("p10")
          assert.strictEqual(quoted?.displayName, "Doe, Person 10")
          assert.strictEqual(c.state.people.get("p25")?.displayName, 'Person "25"')
          assert.strictEqual(c.state.people.get("p101")?.team, "team-1")
          assert.strictEqual(c.state.people.get("p101")?.department, "dept-1")

          const second = yield* plan(csv)
          assert.strictEqual(second.changes.length, 0)
          assert.deepStrictEqual(second.bad, [])
        })
      ),
    120_000
  )

  // The memory store with the full 5,000; PGlite (a real PostgreSQL, so real transactions rolled back
  // on interrupt) with a small organisation, to keep the test quick.
  for (const [store, people, departments, teams, layer] of [
    ["memory", 5000, 20, 100, Clawfleet.layerMemory],
    ["pglite", 50, 3, 5, Clawfleet.layerPglite()]
  ] as const) {
    it.effect(
      `a run interrupted at a random point is finished by a rerun, with no duplicates (${store}, ${people} people)`,
      () =>
        Effect.provide(
          Effect.gen(function* () {
            const csv = hrExport(people, departments, teams)
            const first = yield* plan(csv)
            // Somewhere among the people, after the departments and teams, short of the last person.
            const org = departments + teams
            const stopAt = yield* Random.nextIntBetween(org + 1, org + people - 1)
            // Interrupts the apply fiber at exactly `stopAt` changes (from its own progress callback),
            // with up to 16 onboardings in flight.
            let self: Fiber.Fiber<unknown, unknown> | undefined
            const fiber = yield* Effect.forkChild(
              apply(first, {
                onProgress: ({ done }) => {
                  if (done === stopAt) self?.interruptUnsafe()
                }
              })
            )
            self = fiber
            const exit = yield* Fiber.await(fiber)
            assert.isTrue(Exit.hasInterrupts(exit), `interrupted after ${stopAt} changes`)

            const half = yield* counts
            assert.isBelow(half.people, people, `interrupted after ${stopAt} changes`)
            // Onboarding is atomic: nobody is left without their tenant, nor a tenant without its owner.
            assert.strictEqual(half.people, half.tenants)

            const rest = yield* plan(csv)
            assert.strictEqual(rest.counts.people, people - half.people)
            assert.strictEqual(rest.counts.updates, 0)
            const report = yield* apply(rest)
            assert.deepStrictEqual(report.failures, [])

            const end = yield* counts
            assert.strictEqual(end.people, people)
            assert.strictEqual(end.tenants, people)
            assert.strictEqual(end.distinctOwners, people)
            for (const [name, owner] of end.state.tenants) assert.strictEqual(name, owner)
            assert.strictEqual((yield* plan(csv)).changes.length, 0)
          }),
          layer
        ),
      120_000
    )
  }

  it.effect("reports bad rows with their line numbers and still lands the valid ones", () =>
    run(
      Effect.gen(function* () {
        const fleet = yield* Fleet
        yield* fleet.createDepartment({ id: "eng", displayName: "Engineering" })
        yield* fleet.createTeam({ id: "platform", displayName: "Platform", department: "eng" })
        const csv = [
          "id,email,displayName,team,department", // 1
          "ada,ada@example.com,Ada Lovelace,platform,", // 2 ok: department from the team
          "bob,not-an-email,Bob,platform,eng", // 3 bad email
          "ada,ada2@example.com,Ada Again,platform,eng", // 4 duplicate id
          "cy,cy@example.com,,platform,eng", // 5 missing displayName
          "dee,dee@example.com,Dee,platform,sales", // 6 team in another department
          'eve,eve@example.com,"Eve, E.",ghosts,', // 7 unknown team, no department to create it in
          "fay,fay@example.com,Fay,platform", // 8 too few fields
          "Gus,gus@example.com,Gus,platform,eng", // 9 invalid id
          "hal,hal@example.com,Hal,,eng", // 10 ok: department only
          "ivy,ivy@example.com,Ivy,new-team,new-dept" // 11 ok: team and department created by the file
        ].join("\n")
        const p = yield* plan(csv)
        assert.deepStrictEqual(
          p.bad.map((b) => b.line),
          [3, 4, 5, 6, 7, 8, 9]
        )
        assert.match(p.bad[0]!.reasons.join(), /email "not-an-email"/)
        assert.match(p.bad[1]!.reasons.join(), /duplicate id "ada" \(first on line 2\)/)
        assert.match(p.bad[2]!.reasons.join(), /displayName is missing/)
        assert.match(p.bad[3]!.reasons.join(), /belongs to department "eng", not "sales"/)
        assert.match(p.bad[4]!.reasons.join(), /unknown team "ghosts"/)
        assert.match(p.bad[5]!.reasons.join(), /has 4 fields/)
        assert.match(p.bad[6]!.reasons.join(), /id "Gus"/)
        assert.deepStrictEqual(p.counts, { departments: 1, teams: 1, people: 3, tenants: 3, updates: 0, offboards: 0 })

        const report = yield* apply(p)
        assert.deepStrictEqual(report.failures, [])
        const state = yield* readState
        assert.deepStrictEqual([...state.people.keys()].sort(), ["ada", "hal", "ivy"])
        assert.strictEqual(state.people.get("ada")?.department, "eng")
        assert.strictEqual(state.teams.get("new-team")?.department, "new-dept")

        // Without createOrg, names the store lacks are bad rows too.
        const strict = diff(readRows("id,email,displayName,team,department\nzed,zed@example.com,Zed,nope,eng\n").rows, state, {
          createOrg: false
        })
        assert.deepStrictEqual(strict.bad, [{ line: 2, id: "zed", reasons: ['unknown team "nope"'] }])
      })
    )
  )

  it.effect("plans updates for changed rows, offboards the missing only with prune, and reports apply failures", () =>
    run(
      Effect.gen(function* () {
        const csv = "id,email,displayName,team,department\nada,ada@example.com,Ada,,eng\nbob,bob@example.com,Bob,,eng\n"
        yield* apply(yield* plan(csv))
        const changed = "id,email,displayName,team,department\nada,ada@new.example.com,Ada L.,,eng\n"
        const noPrune = yield* plan(changed)
        assert.deepStrictEqual(noPrune.changes, [
          { action: "update", kind: "person", id: "ada", line: 2, patch: { email: "ada@new.example.com", displayName: "Ada L." } }
        ])
        const pruned = yield* plan(changed, { prune: true })
        assert.strictEqual(pruned.counts.offboards, 1)
        const report = yield* apply(pruned)
        assert.deepStrictEqual(report.failures, [])
        const directory = yield* Directory
        assert.isTrue((yield* directory.people.get("bob")).value.disabled)
        const tenants = yield* Tenants
        assert.isTrue((yield* tenants.get("bob")).value.spec.suspended)
        assert.strictEqual((yield* plan(changed, { prune: true })).changes.length, 0)

        // A change the store refuses is a failure with its reason, and the others still apply.
        const failing = yield* apply({
          changes: [
            { action: "create", kind: "team", id: "t1", line: 2, team: { id: "t1", displayName: "T1", department: "missing" } },
            { action: "create", kind: "department", id: "d1", line: 3, department: { id: "d1", displayName: "D1" } }
          ]
        })
        assert.strictEqual(failing.applied, 1)
        assert.strictEqual(failing.failures.length, 1)
        assert.match(failing.failures[0]!.reason, /department "missing" does not exist/)
      })
    )
  )
})

describe("main.ts", () => {
  it("prints bad rows and the plan, applies the rest and exits 1 when a row was bad", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bulk-onboard-"))
    try {
      const file = join(dir, "hr.csv")
      await writeFile(file, "id,email,displayName,team,department\nada,ada@example.com,Ada,core,eng\nbob,bob@,Bob,core,eng\n")
      const lines: Array<string> = []
      assert.strictEqual(await runCli([file], (l) => lines.push(l)), 1)
      assert.include(lines, 'line 3 (bob): email "bob@" is not an e-mail address')
      assert.include(lines, "applied 3, failed 0")
      assert.strictEqual(await runCli([], (l) => lines.push(l)), 2)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
