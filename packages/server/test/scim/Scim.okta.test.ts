import { ApiTokens, Audit, Fleet, RecordStore, Sessions, Tenants, Tokens } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Redacted } from "effect"
import { GROUP, PATCH_OP, startScim, USER } from "./support.ts"

// Payloads as Okta's SCIM 2.0 integration sends them (developer.okta.com, "SCIM 2.0 protocol reference").
const oktaUser = {
  schemas: [USER],
  userName: "ada.lovelace@example.com",
  name: { givenName: "Ada", familyName: "Lovelace" },
  emails: [{ primary: true, value: "ada.lovelace@example.com", type: "work" }],
  displayName: "Ada Lovelace",
  locale: "en-US",
  externalId: "00ujl29u0le5T6Aj10h7",
  groups: [],
  password: "1mz050nq",
  active: true
}

const probe = (userName: string) => `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&startIndex=1&count=100`

describe("SCIM with Okta's payloads", () => {
  it.live("joiner → mover (team group push flips a grant) → leaver → back", () =>
    Effect.gen(function* () {
      const { ctx, admin, request, origin } = yield* startScim()
      const fleet = Context.get(ctx, Fleet)
      yield* admin(fleet.createDepartment({ id: "eng", displayName: "Engineering" }))
      yield* admin(fleet.createTeam({ id: "platform", displayName: "Platform", department: "eng" }))
      yield* admin(fleet.createTeam({ id: "data", displayName: "Data", department: "eng" }))
      yield* admin(fleet.grant({ subject: { kind: "team", id: "platform" }, resource: { kind: "skill", name: "deploy" }, effect: "allow" }))

      // Joiner: Okta looks the user up first, finds nobody, and creates them.
      const before = yield* request("GET", probe("ada.lovelace@example.com"))
      assert.strictEqual(before.status, 200)
      assert.deepStrictEqual(before.json, {
        schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        totalResults: 0,
        startIndex: 1,
        itemsPerPage: 0,
        Resources: []
      })
      const created = yield* request("POST", "/scim/v2/Users", oktaUser)
      assert.strictEqual(created.status, 201)
      assert.strictEqual(created.headers.get("content-type"), "application/scim+json")
      const id = created.json.id as string
      assert.strictEqual(id, "ada-lovelace")
      assert.strictEqual(created.headers.get("location"), `${origin}/scim/v2/Users/ada-lovelace`)
      assert.strictEqual(created.headers.get("etag"), created.json.meta.version)
      assert.deepInclude(created.json, {
        userName: "ada.lovelace@example.com",
        displayName: "Ada Lovelace",
        active: true,
        externalId: "00ujl29u0le5T6Aj10h7"
      })
      assert.deepStrictEqual(created.json.meta, {
        resourceType: "User",
        location: `${origin}/scim/v2/Users/ada-lovelace`,
        version: 'W/"1"'
      })
      const tenant = yield* admin(Context.get(ctx, Tenants).get("ada-lovelace"))
      assert.strictEqual(tenant.value.spec.owner, "ada-lovelace", "the joiner's assistant is created with them")

      const after = yield* request("GET", probe("Ada.Lovelace@example.com"))
      assert.strictEqual(after.json.totalResults, 1, "userName matches without case")
      assert.strictEqual(after.json.Resources[0].id, id)
      const again = yield* request("POST", "/scim/v2/Users", { ...oktaUser, userName: "ADA.LOVELACE@example.com" })
      assert.strictEqual(again.status, 409)
      assert.deepInclude(again.json, { schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "409", scimType: "uniqueness" })

      // Group push: Okta creates the group empty, then PATCHes members in.
      const push = (displayName: string) =>
        Effect.map(request("POST", "/scim/v2/Groups", { schemas: [GROUP], displayName, members: [] }), (r) => {
          assert.strictEqual(r.status, 201)
          return r.json.id as string
        })
      const platform = yield* push("team:platform")
      const data = yield* push("team:data")
      const add = (group: string) =>
        request("PATCH", `/scim/v2/Groups/${group}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: "add", path: "members", value: [{ value: id, display: "ada.lovelace@example.com" }] }]
        })
      const joined = yield* add(platform)
      assert.strictEqual(joined.status, 200)
      assert.deepStrictEqual(
        joined.json.members.map((m: { value: string }) => m.value),
        [id]
      )
      assert.strictEqual((yield* admin(fleet.getPerson(id))).team, "platform")
      assert.isTrue((yield* admin(fleet.check(id, { kind: "skill", name: "deploy" }))).allowed)

      // Mover: into the data team's group, out of the platform team's.
      yield* add(data)
      const left = yield* request("PATCH", `/scim/v2/Groups/${platform}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: "remove", path: `members[value eq "${id}"]` }]
      })
      assert.strictEqual(left.status, 200)
      assert.deepStrictEqual(left.json.members, [])
      const moved = yield* admin(fleet.getPerson(id))
      assert.strictEqual(moved.team, "data")
      assert.deepStrictEqual(moved.groups, ["team:data"])
      assert.isFalse((yield* admin(fleet.check(id, { kind: "skill", name: "deploy" }))).allowed, "the team's grant went with the team")
      // Okta repeats the group's name on every push; the same name is no rename.
      const renamed = yield* request("PATCH", `/scim/v2/Groups/${data}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: "replace", value: { id: data, displayName: "team:data" } }]
      })
      assert.strictEqual(renamed.status, 200)
      const user = yield* request("GET", `/scim/v2/Users/${id}`)
      assert.deepStrictEqual(user.json.groups, [{ value: data, display: "team:data", $ref: `${origin}/scim/v2/Groups/${data}` }])

      // Leaver: what they held before must stop working.
      const session = yield* admin(Context.get(ctx, Sessions).create(id))
      const jwt = yield* admin(Context.get(ctx, Tokens).issue({ audience: "clawfleet-test", subject: id, person: id }))
      yield* admin(Context.get(ctx, ApiTokens).create({ person: id, scopes: ["tenants:read"], expiresInDays: 1 }))
      const off = yield* request("PATCH", `/scim/v2/Users/${id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: "replace", value: { active: false } }]
      })
      assert.strictEqual(off.status, 200)
      assert.isFalse(off.json.active)
      assert.isTrue((yield* admin(fleet.getPerson(id))).disabled)
      assert.isUndefined(
        yield* admin(Context.get(ctx, RecordStore).get("sessions", session.session.id)),
        "the session is deleted, not only refused"
      )
      assert.isUndefined(yield* admin(Context.get(ctx, Sessions).verify(session.token)))
      assert.deepStrictEqual(yield* admin(Context.get(ctx, ApiTokens).list(id)), [])
      assert.isTrue((yield* admin(Context.get(ctx, Tenants).get("ada-lovelace"))).value.spec.suspended)
      const events = yield* admin(Context.get(ctx, Audit).list({ limit: 1000 }))
      const offboard = events.find((e) => e.action === "person.offboard")
      assert.strictEqual(offboard?.actor, "scim:okta")

      // Back: enabled again, but their assistant waits until they open it, and nothing old revives.
      const on = yield* request("PATCH", `/scim/v2/Users/${id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: "replace", value: { active: true } }]
      })
      assert.isTrue(on.json.active)
      assert.isFalse((yield* admin(fleet.getPerson(id))).disabled)
      assert.isTrue((yield* admin(Context.get(ctx, Tenants).get("ada-lovelace"))).value.spec.suspended)
      const stale = yield* Effect.flip(admin(Context.get(ctx, Tokens).verify(Redacted.value(jwt.token), { audience: "clawfleet-test" })))
      assert.strictEqual(stale._tag === "TokenError" ? stale.reason : stale._tag, "Revoked")
    }).pipe(Effect.scoped)
  )

  it.live("a PUT replaces the profile and keeps the groups; If-Match guards it", () =>
    Effect.gen(function* () {
      const { ctx, admin, request } = yield* startScim()
      const created = yield* request("POST", "/scim/v2/Users", oktaUser)
      const id = created.json.id as string
      const group = yield* request("POST", "/scim/v2/Groups", { schemas: [GROUP], displayName: "Everyone", members: [{ value: id }] })
      assert.strictEqual(group.status, 201)
      const put = {
        ...oktaUser,
        id,
        userName: "ada@example.com",
        displayName: "Ada King",
        externalId: "00ujl29u0le5T6Aj10h8",
        emails: [{ primary: true, value: "ada@example.com" }]
      }
      // Joining the group wrote the person: the version Okta saw at creation is stale now.
      const stale = yield* request("PUT", `/scim/v2/Users/${id}`, put, { headers: { "if-match": created.json.meta.version } })
      assert.strictEqual(stale.status, 412)
      assert.strictEqual(stale.json.status, "412")
      const current = (yield* request("GET", `/scim/v2/Users/${id}`)).headers.get("etag")!
      const replaced = yield* request("PUT", `/scim/v2/Users/${id}`, put, { headers: { "if-match": current } })
      assert.strictEqual(replaced.status, 200)
      assert.deepInclude(replaced.json, { id, userName: "ada@example.com", displayName: "Ada King", externalId: "00ujl29u0le5T6Aj10h8" })
      assert.strictEqual(replaced.json.groups[0].display, "Everyone")
      assert.notStrictEqual(replaced.json.meta.version, current)

      // A PUT that leaves externalId out keeps it; a PATCH that removes it clears it.
      const { externalId: _, ...withoutExternalId } = put
      const kept = yield* request("PUT", `/scim/v2/Users/${id}`, { ...withoutExternalId, displayName: "Ada" })
      assert.deepInclude(kept.json, { displayName: "Ada", externalId: "00ujl29u0le5T6Aj10h8" })
      const removed = yield* request("PATCH", `/scim/v2/Users/${id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: "remove", path: "externalId" }]
      })
      assert.strictEqual(removed.status, 200)
      assert.notProperty(removed.json, "externalId")
      assert.notProperty(yield* admin(Context.get(ctx, Fleet).getPerson(id)), "externalId")
    }).pipe(Effect.scoped)
  )
})
