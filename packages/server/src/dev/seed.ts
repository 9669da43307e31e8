import { Directory, Fleet, withActor } from "@clawfleet/core"
import { Effect } from "effect"

/** The demo organisation's people: each can sign in on the development sign-in page. */
export const demoPeople = [
  { id: "ada", email: "ada@example.com", displayName: "Ada Lovelace", team: "platform" },
  { id: "grace", email: "grace@example.com", displayName: "Grace Hopper", team: "platform" }
] as const

/** The model every demo assistant uses, served by the token proxy's upstream `demo`. */
export const DEMO_UPSTREAM = "demo"

/**
 * Seeds the demo organisation once: a department and team, Ada with an assistant, Grace without
 * one, the model catalog and an org-wide grant of it. A store that already has Ada is left as it
 * is, so whatever was changed since survives restarts.
 */
export const seedDemoOrg = (options: { readonly model: string; readonly openclawVersion: string }) =>
  Effect.gen(function* () {
    const fleet = yield* Fleet
    const directory = yield* Directory
    if ((yield* directory.people.find("ada")) !== undefined) return false
    yield* fleet.createDepartment({ id: "engineering", displayName: "Engineering" })
    yield* fleet.createTeam({ id: "platform", displayName: "Platform", department: "engineering" })
    yield* fleet.putCatalogItem("model", { name: options.model, upstream: DEMO_UPSTREAM })
    yield* fleet.grant({
      subject: { kind: "org" },
      resource: { kind: "model", name: options.model },
      effect: "allow",
      reason: "every assistant may use the fleet's model"
    })
    const [ada, grace] = demoPeople
    yield* fleet.onboardPerson({
      person: ada,
      tenant: { openclaw: { version: options.openclawVersion }, models: { default: options.model } }
    })
    yield* fleet.onboardPerson({ person: grace, tenant: false })
    return true
  }).pipe(withActor("clawfleet-dev"))
