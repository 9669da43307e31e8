/**
 * `npm start`: the embedded development fleet. Today it opens the embedded store (PGlite in
 * `.clawfleet/dev`), migrates it, seeds a small demo org once, proves the audit chain and says
 * what is not built yet. The reference server, reconciler and local provider will start here.
 */
import { mkdirSync } from "node:fs"
import { resolve } from "node:path"
import { Audit, Clawfleet, Directory, Fleet, Tenants, withActor } from "@clawfleet/core"
import { Effect } from "effect"

const dataDir = resolve(process.env.CLAWFLEET_DATA_DIR ?? ".clawfleet/dev")

const seed = Effect.gen(function* () {
  const fleet = yield* Fleet
  const directory = yield* Directory
  if ((yield* directory.people.find("ada")) !== undefined) return false
  yield* fleet.createDepartment({ id: "engineering", displayName: "Engineering" })
  yield* fleet.createTeam({ id: "platform", displayName: "Platform", department: "engineering" })
  yield* fleet.onboardPerson({
    person: { id: "ada", email: "ada@example.com", displayName: "Ada Lovelace", team: "platform" }
  })
  yield* fleet.grant({
    subject: { kind: "org" },
    resource: { kind: "model", name: "*" },
    effect: "allow",
    reason: "every assistant may use the fleet's models"
  })
  return true
}).pipe(withActor("clawfleet-dev"))

const main = Effect.gen(function* () {
  const seeded = yield* seed
  const people = (yield* (yield* Directory).people.list({ limit: 1000 })).items.length
  const tenants = (yield* (yield* Tenants).list({ limit: 1000 })).items.length
  const chain = yield* (yield* Audit).verifyAuditChain
  const decision = yield* (yield* Fleet).check("ada", { kind: "model", name: "gpt-4.1" })
  const lines = [
    "clawfleet dev",
    `  store      PGlite in ${dataDir}${seeded ? " (demo org seeded)" : ""}`,
    `  directory  ${people} people, ${tenants} tenants`,
    `  audit      ${chain.events} events, chain ${chain.ok ? "verified" : `BROKEN at ${chain.brokenAt}: ${chain.reason}`}`,
    `  grants     ada -> model gpt-4.1: ${decision.reason}`,
    "",
    "Not built yet: the reference HTTP server and CLI, and running assistants here. The",
    "token and egress proxies, the tool broker, sign-in, pairing and the tenant agent are",
    "in @clawfleet/core and the local provider in @clawfleet/provider-local, waiting for",
    "this command to run them; until then use them from TypeScript (see their READMEs)."
  ]
  yield* Effect.sync(() => console.log(lines.join("\n")))
})

mkdirSync(dataDir, { recursive: true })
await Effect.runPromise(main.pipe(Effect.provide(Clawfleet.layerPglite({ dataDir })))).catch((error: unknown) => {
  console.error("clawfleet dev failed:", error instanceof Error ? error.message : error)
  process.exitCode = 1
})
