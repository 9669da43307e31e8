import { Fleet, RecordStore, Sessions, Tenants } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect } from "effect"
import { ENTERPRISE, GROUP, PATCH_OP, startScim, USER } from "./support.ts"

// Payloads as Microsoft Entra ID's provisioning service sends them ("Tutorial: Develop and plan
// provisioning for a SCIM endpoint"): capitalised verbs, paths, booleans as strings.
const entraUser = {
  schemas: [USER, ENTERPRISE],
  externalId: "ghopper",
  userName: "Grace.Hopper@contoso.com",
  active: true,
  addresses: [{ primary: true, type: "work", streetAddress: "1 Navy Way", locality: "Arlington", country: "US" }],
  displayName: "Grace Hopper",
  emails: [{ primary: true, type: "work", value: "grace.hopper@contoso.com" }],
  meta: { resourceType: "User" },
  name: { formatted: "Grace Hopper", familyName: "Hopper", givenName: "Grace" },
  phoneNumbers: [{ primary: true, type: "work", value: "+1 555 0100" }],
  roles: [],
  title: "Rear Admiral",
  [ENTERPRISE]: { employeeNumber: "1906", department: "Research", manager: { value: "" } }
}

const filter = (resource: string, expression: string, extra = "") => `/scim/v2/${resource}?filter=${encodeURIComponent(expression)}${extra}`

const teams: Record<string, string> = { "Platform Team": "platform", "Data Team": "data" }

describe("SCIM with Entra ID's payloads", () => {
  it.live('joiner with the enterprise extension → PATCH by path → mover by group → leaver with "False" → hard delete', () =>
    Effect.gen(function* () {
      const { ctx, admin, request } = yield* startScim({ teamOfGroup: (name) => teams[name] })
      const fleet = Context.get(ctx, Fleet)
      yield* admin(fleet.createDepartment({ id: "research", displayName: "Research" }))
      yield* admin(fleet.createDepartment({ id: "eng", displayName: "Engineering" }))
      yield* admin(fleet.createTeam({ id: "platform", displayName: "Platform", department: "eng" }))
      yield* admin(fleet.createTeam({ id: "data", displayName: "Data", department: "eng" }))
      yield* admin(fleet.grant({ subject: { kind: "team", id: "data" }, resource: { kind: "skill", name: "notebooks" }, effect: "allow" }))

      // "Test connection" asks for a user that cannot exist; then the matching probe; then the create.
      const test = yield* request("GET", filter("Users", 'userName eq "ae2a4b39-0d4d-4c4f-9b2a-3f0e2c1f7c55"'))
      assert.strictEqual(test.status, 200)
      assert.strictEqual(test.json.totalResults, 0)
      assert.strictEqual((yield* request("GET", filter("Users", 'userName eq "Grace.Hopper@contoso.com"'))).json.totalResults, 0)
      const byExternalId = (externalId: string) => request("GET", filter("Users", `externalId eq "${externalId}"`))
      const before = yield* byExternalId("ghopper")
      assert.strictEqual(before.status, 200)
      assert.strictEqual(before.json.totalResults, 0)
      const created = yield* request("POST", "/scim/v2/Users", entraUser)
      assert.strictEqual(created.status, 201)
      const id = created.json.id as string
      assert.strictEqual(id, "grace-hopper")
      assert.strictEqual(created.json.externalId, "ghopper")
      assert.strictEqual((yield* request("GET", `/scim/v2/Users/${id}`)).json.externalId, "ghopper")
      assert.strictEqual((yield* admin(fleet.getPerson(id))).externalId, "ghopper")
      const found = yield* byExternalId("ghopper")
      assert.strictEqual(found.json.totalResults, 1)
      assert.strictEqual(found.json.Resources[0].id, id)
      assert.strictEqual((yield* byExternalId("GHOPPER")).json.totalResults, 0, "externalId is compared exactly")
      // Another address under the same externalId would leave Entra ID two users to match.
      const twin = yield* request("POST", "/scim/v2/Users", { ...entraUser, userName: "grace.b@contoso.com", emails: [] })
      assert.strictEqual(twin.status, 409)
      assert.strictEqual(twin.json.scimType, "uniqueness")
      assert.include(twin.json.detail, "grace-hopper")
      assert.deepStrictEqual(created.json[ENTERPRISE], { department: "research" }, "the department is found by its display name")
      assert.include(created.json.schemas, ENTERPRISE)
      assert.strictEqual((yield* admin(fleet.getPerson(id))).department, "research")

      // Attribute changes arrive as one PATCH of paths, each verb capitalised.
      const patched = yield* request("PATCH", `/scim/v2/Users/${id}`, {
        schemas: [PATCH_OP],
        Operations: [
          { op: "Replace", path: "displayName", value: "Grace Brewster Hopper" },
          { op: "Add", path: "name.givenName", value: "Grace Brewster" },
          { op: "Replace", path: `${ENTERPRISE}:department`, value: "Engineering" },
          { op: "Replace", path: 'emails[type eq "work"].value', value: "grace@contoso.com" },
          { op: "Replace", path: "userName", value: "grace@contoso.com" },
          { op: "Replace", path: "externalId", value: "grace.hopper" },
          { op: "Remove", path: `${ENTERPRISE}:manager` }
        ]
      })
      assert.strictEqual(patched.status, 200)
      assert.deepInclude(patched.json, { userName: "grace@contoso.com", displayName: "Grace Brewster Hopper", externalId: "grace.hopper" })
      const person = yield* admin(fleet.getPerson(id))
      assert.strictEqual(person.email, "grace@contoso.com")
      assert.strictEqual(person.externalId, "grace.hopper")
      assert.strictEqual((yield* byExternalId("ghopper")).json.totalResults, 0)
      assert.strictEqual((yield* byExternalId("grace.hopper")).json.Resources[0].id, id)
      assert.strictEqual(person.department, "eng")
      assert.strictEqual((yield* request("GET", filter("Users", 'userName eq "grace@contoso.com"'))).json.Resources[0].id, id)

      // Groups: Entra ID probes by displayName without members, creates, then adds members by value.
      const group = (displayName: string) =>
        Effect.gen(function* () {
          const found = yield* request("GET", filter("Groups", `displayName eq "${displayName}"`, "&excludedAttributes=members"))
          assert.strictEqual(found.json.totalResults, 0)
          const made = yield* request("POST", "/scim/v2/Groups", { schemas: [GROUP], externalId: displayName, displayName, members: [] })
          assert.strictEqual(made.status, 201)
          return made.json.id as string
        })
      const members = (op: "Add" | "Remove", groupId: string) =>
        request("PATCH", `/scim/v2/Groups/${groupId}`, {
          schemas: [PATCH_OP],
          Operations: [{ op, path: "members", value: [{ value: id }] }]
        })
      const platform = yield* group("Platform Team")
      const data = yield* group("Data Team")
      assert.strictEqual((yield* members("Add", platform)).status, 200)
      assert.strictEqual((yield* admin(fleet.getPerson(id))).team, "platform")
      assert.isFalse((yield* admin(fleet.check(id, { kind: "skill", name: "notebooks" }))).allowed)
      const listed = yield* request("GET", filter("Groups", 'displayName eq "Platform Team"', "&excludedAttributes=members"))
      assert.strictEqual(listed.json.totalResults, 1)
      assert.notProperty(listed.json.Resources[0], "members")
      assert.strictEqual(listed.json.Resources[0].id, platform)
      const membership = (groupId: string) =>
        Effect.map(
          request("GET", filter("Groups", `id eq "${groupId}" and members[value eq "${id}"]`, "&excludedAttributes=members")),
          (r) => r.json.totalResults as number
        )
      assert.strictEqual(yield* membership(platform), 1)
      assert.strictEqual(yield* membership(data), 0)

      // Mover: Entra ID may add to the new group before removing from the old one.
      yield* members("Add", data)
      yield* members("Remove", platform)
      const moved = yield* admin(fleet.getPerson(id))
      assert.strictEqual(moved.team, "data")
      assert.deepStrictEqual(moved.groups, ["Data Team"])
      assert.isTrue((yield* admin(fleet.check(id, { kind: "skill", name: "notebooks" }))).allowed)
      // With a team, the extension's department no longer speaks for the person.
      yield* request("PATCH", `/scim/v2/Users/${id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: "Replace", path: `${ENTERPRISE}:department`, value: "Research" }]
      })
      assert.strictEqual((yield* admin(fleet.getPerson(id))).department, "eng")

      // Leaver: soft delete is `active` set to the string "False".
      const session = yield* admin(Context.get(ctx, Sessions).create(id))
      const off = yield* request("PATCH", `/scim/v2/Users/${id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: "Replace", path: "active", value: "False" }]
      })
      assert.strictEqual(off.status, 200)
      assert.isFalse(off.json.active)
      assert.isUndefined(yield* admin(Context.get(ctx, RecordStore).get("sessions", session.session.id)))
      assert.isTrue((yield* admin(Context.get(ctx, Tenants).get("grace-hopper"))).value.spec.suspended)
      assert.isFalse((yield* admin(fleet.check(id, { kind: "skill", name: "notebooks" }))).allowed)

      // Hard delete, 30 days on: the records stay, inactive; the group memberships too.
      const deleted = yield* request("DELETE", `/scim/v2/Users/${id}`)
      assert.strictEqual(deleted.status, 204)
      const kept = yield* request("GET", `/scim/v2/Users/${id}`)
      assert.strictEqual(kept.status, 200)
      assert.isFalse(kept.json.active)
      assert.deepStrictEqual((yield* admin(fleet.getPerson(id))).groups, ["Data Team"])
    }).pipe(Effect.scoped)
  )

  it.live("a group that is deleted lets everybody go, and its team with it", () =>
    Effect.gen(function* () {
      const { ctx, admin, request } = yield* startScim({ teamOfGroup: (name) => teams[name] })
      const fleet = Context.get(ctx, Fleet)
      yield* admin(fleet.createDepartment({ id: "eng", displayName: "Engineering" }))
      yield* admin(fleet.createTeam({ id: "platform", displayName: "Platform", department: "eng" }))
      const ids: Array<string> = []
      for (const name of ["alan", "barbara"]) {
        const joiner = { ...entraUser, userName: `${name}@contoso.com`, externalId: name, emails: [] }
        ids.push((yield* request("POST", "/scim/v2/Users", joiner)).json.id)
      }
      const taken = yield* request("PATCH", "/scim/v2/Users/barbara", {
        schemas: [PATCH_OP],
        Operations: [{ op: "Replace", path: "externalId", value: "alan" }]
      })
      assert.deepInclude(taken.json, { status: "409", scimType: "uniqueness" })
      assert.include(taken.json.detail, "User alan")
      assert.strictEqual((yield* admin(fleet.getPerson("barbara"))).externalId, "barbara")
      const made = yield* request("POST", "/scim/v2/Groups", {
        schemas: [GROUP],
        displayName: "Platform Team",
        members: ids.map((value) => ({ value }))
      })
      assert.deepStrictEqual(made.json.members.map((m: { value: string }) => m.value).sort(), ["alan", "barbara"])
      assert.strictEqual((yield* request("POST", "/scim/v2/Groups", { schemas: [GROUP], displayName: "Platform Team" })).status, 409)
      assert.strictEqual((yield* admin(fleet.getPerson("alan"))).team, "platform")
      // Replace with a list: Entra ID's "Replace members" when an assignment is re-synced.
      const replaced = yield* request("PATCH", `/scim/v2/Groups/${made.json.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: "Replace", path: "members", value: [{ value: "barbara" }] }]
      })
      assert.deepStrictEqual(
        replaced.json.members.map((m: { value: string }) => m.value),
        ["barbara"]
      )
      assert.isUndefined((yield* admin(fleet.getPerson("alan"))).team)
      assert.strictEqual((yield* request("DELETE", `/scim/v2/Groups/${made.json.id}`)).status, 204)
      const barbara = yield* admin(fleet.getPerson("barbara"))
      assert.isUndefined(barbara.team)
      assert.deepStrictEqual(barbara.groups, [])
      assert.strictEqual((yield* request("GET", "/scim/v2/Groups")).json.totalResults, 0)
    }).pipe(Effect.scoped)
  )
})
