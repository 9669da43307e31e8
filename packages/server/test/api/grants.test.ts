import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeFixture, SAMPLES } from "./support.ts"

describe("grants", () => {
  it.live("an org administrator grants, lists by subject or kind, and revokes", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture({ catalog: true })
      const created = yield* f.request("POST", "/api/v1/grants", {
        as: "root",
        body: {
          subject: { kind: "person", id: "mia" },
          resource: { kind: "tool", name: SAMPLES.tools },
          effect: "allow",
          reason: "on call"
        }
      })
      assert.strictEqual(created.status, 201)
      assert.strictEqual(created.json.actor, "person:root")
      const id = created.json.id as string

      const all = yield* f.request("GET", "/api/v1/grants", { as: "root" })
      assert.sameMembers(
        all.json.items.map((g: { id: string }) => g.id),
        [f.seeded!.grant, id]
      )
      const mias = yield* f.request("GET", "/api/v1/grants?subject=person:mia", { as: "root" })
      assert.deepStrictEqual(
        mias.json.items.map((g: { id: string }) => g.id),
        [id]
      )
      const orgs = yield* f.request("GET", "/api/v1/grants?subject=org&kind=model", { as: "root" })
      assert.deepStrictEqual(
        orgs.json.items.map((g: { id: string }) => g.id),
        [f.seeded!.grant]
      )
      assert.lengthOf((yield* f.request("GET", "/api/v1/grants?kind=skill", { as: "root" })).json.items, 0)
      const paged = yield* f.request("GET", "/api/v1/grants?limit=1", { as: "root" })
      assert.lengthOf(paged.json.items, 1)
      assert.isString(paged.json.next)

      // A grant to nobody is refused, naming the field.
      const nobody = yield* f.request("POST", "/api/v1/grants", {
        as: "root",
        body: { subject: { kind: "team", id: "ghosts" }, resource: { kind: "model", name: "*" }, effect: "deny" }
      })
      assert.strictEqual(nobody.status, 400)
      assert.deepStrictEqual(
        nobody.json.errors.map((e: { path: string }) => e.path),
        ["subject.id"]
      )

      assert.strictEqual((yield* f.request("DELETE", `/api/v1/grants/${id}`, { as: "root" })).status, 204)
      assert.strictEqual((yield* f.request("DELETE", `/api/v1/grants/${id}`, { as: "root" })).status, 404)
      // Writes are the org administrators'.
      assert.strictEqual((yield* f.request("DELETE", `/api/v1/grants/${f.seeded!.grant}`, { as: "tam" })).status, 403)
      assert.strictEqual((yield* f.request("GET", "/api/v1/grants", { as: "tam" })).status, 403)
    }).pipe(Effect.scoped)
  )

  it.live("effective access and explanations: own for members, their teams' for team administrators", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture({ catalog: true })
      yield* f.request("POST", "/api/v1/grants", {
        as: "root",
        body: { subject: { kind: "team", id: "platform" }, resource: { kind: "egress", name: "*" }, effect: "allow" }
      })
      yield* f.request("POST", "/api/v1/grants", {
        as: "root",
        body: { subject: { kind: "person", id: "mia" }, resource: { kind: "model", name: SAMPLES.models }, effect: "deny" }
      })
      const tams = yield* f.request("GET", "/api/v1/people/tam/effective", { as: "tam" })
      assert.strictEqual(tams.status, 200)
      assert.deepStrictEqual(tams.json, {
        person: "tam",
        skills: [],
        tools: [],
        knowledge: [],
        egress: [{ pattern: SAMPLES["egress-domains"], except: [] }],
        models: [SAMPLES.models]
      })
      const mias = yield* f.request("GET", "/api/v1/people/mia/effective", { as: "mia" })
      assert.deepStrictEqual(mias.json.models, [], "a personal deny beats the org's allow")
      assert.strictEqual((yield* f.request("GET", "/api/v1/people/mia/effective", { as: "tam" })).status, 200)
      // A member who owns no assistant still has access to read.
      assert.deepStrictEqual((yield* f.request("GET", "/api/v1/people/nemo/effective", { as: "nemo" })).json.models, [SAMPLES.models])
      for (const [who, path] of [
        ["mia", "/api/v1/people/otto/effective"],
        ["tam", "/api/v1/people/otto/effective"],
        ["nemo", `/api/v1/grants/explain?person=mia&kind=model&name=${SAMPLES.models}`],
        ["tam", `/api/v1/grants/explain?person=otto&kind=model&name=${SAMPLES.models}`]
      ] as const) {
        assert.strictEqual((yield* f.request("GET", path, { as: who })).status, 403, `${who} ${path}`)
      }
      assert.strictEqual((yield* f.request("GET", "/api/v1/people/ghost/effective", { as: "root" })).status, 404)

      const why = yield* f.request("GET", `/api/v1/grants/explain?person=mia&kind=model&name=${SAMPLES.models}`, { as: "mia" })
      assert.strictEqual(why.status, 200)
      assert.isFalse(why.json.allowed)
      assert.strictEqual(why.json.reason, "denied-by-grant")
      assert.strictEqual(why.json.decidedBy.effect, "deny")
      assert.sameMembers(
        why.json.grants.map((g: { through: { kind: string } }) => g.through.kind),
        ["person", "org"]
      )
      const none = yield* f.request("GET", "/api/v1/grants/explain?person=tam&kind=skill&name=writer", { as: "tam" })
      assert.deepInclude(none.json, { allowed: false, reason: "no-grant" })
      assert.notProperty(none.json, "decidedBy")
    }).pipe(Effect.scoped)
  )
})
