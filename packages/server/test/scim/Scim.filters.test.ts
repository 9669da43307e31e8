import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { GROUP, startScim, USER } from "./support.ts"

const ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

const user = (userName: string, displayName: string, externalId?: string) => ({
  schemas: [USER],
  userName,
  displayName,
  active: true,
  ...(externalId === undefined ? {} : { externalId })
})

/** Three people besides the provisioning account, and a group two of them are in. */
const seeded = Effect.gen(function* () {
  const scim = yield* startScim({ tenantPolicy: "none" })
  for (const [address, name, externalId] of [
    ["ada.lovelace@example.com", "Ada Lovelace", "00uAda"],
    ["alan.turing@example.org", "Alan Turing", "00uAlan"],
    ["grace.hopper@example.com", "Grace Hopper", undefined]
  ] as const) {
    assert.strictEqual((yield* scim.request("POST", "/scim/v2/Users", user(address, name, externalId))).status, 201)
  }
  const group = yield* scim.request("POST", "/scim/v2/Groups", {
    schemas: [GROUP],
    displayName: "Analysts",
    members: [{ value: "ada-lovelace" }, { value: "alan-turing" }]
  })
  const list = (resource: "Users" | "Groups", filter: string, extra = "") =>
    scim.request("GET", `/scim/v2/${resource}?filter=${encodeURIComponent(filter)}${extra}`)
  const ids = (resource: "Users" | "Groups", filter: string) =>
    Effect.map(list(resource, filter), (r) => {
      assert.strictEqual(r.status, 200, JSON.stringify(r.json))
      return r.json.Resources.map((u: { id: string }) => u.id) as Array<string>
    })
  return { ...scim, groupId: group.json.id as string, list, ids }
})

describe("SCIM filters", () => {
  it.live("users by userName, emails, displayName and externalId; names and values ignore case, ids do not", () =>
    Effect.gen(function* () {
      const { ids } = yield* seeded
      assert.deepStrictEqual(yield* ids("Users", 'USERNAME eq "Ada.Lovelace@EXAMPLE.com"'), ["ada-lovelace"])
      assert.deepStrictEqual(yield* ids("Users", `${USER}:userName eq "grace.hopper@example.com"`), ["grace-hopper"])
      assert.deepStrictEqual(yield* ids("Users", 'emails.value eq "alan.turing@example.org"'), ["alan-turing"])
      assert.deepStrictEqual(yield* ids("Users", 'emails[type eq "work" and value eq "alan.turing@example.org"]'), ["alan-turing"])
      assert.deepStrictEqual(yield* ids("Users", 'displayName eq "grace hopper"'), ["grace-hopper"])
      assert.deepStrictEqual(yield* ids("Users", 'id eq "ada-lovelace"'), ["ada-lovelace"])
      assert.deepStrictEqual(yield* ids("Users", 'id eq "ADA-LOVELACE"'), [])
      assert.deepStrictEqual(yield* ids("Users", 'externalId eq "00uAda"'), ["ada-lovelace"])
      assert.deepStrictEqual(yield* ids("Users", `${USER}:externalId eq "00uAlan"`), ["alan-turing"])
      assert.deepStrictEqual(yield* ids("Users", 'externalId eq "00UADA"'), [])
      assert.deepStrictEqual(yield* ids("Users", 'externalId sw "00u"'), ["ada-lovelace", "alan-turing"])
      assert.deepStrictEqual(yield* ids("Users", 'userName sw "A"'), ["ada-lovelace", "alan-turing"])
      assert.deepStrictEqual(yield* ids("Users", 'userName co "@EXAMPLE.com"'), ["ada-lovelace", "grace-hopper", "okta"])
      assert.deepStrictEqual(yield* ids("Users", 'userName ew ".org"'), ["alan-turing"])
      assert.deepStrictEqual(yield* ids("Users", 'userName sw "a" and displayName co "turing"'), ["alan-turing"])
      assert.deepStrictEqual(yield* ids("Users", 'active eq true and userName sw "g"'), ["grace-hopper"])
      assert.deepStrictEqual(yield* ids("Users", "active eq false"), [])
    }).pipe(Effect.scoped)
  )

  it.live("totalResults counts every match; startIndex (from 1) and count page through them", () =>
    Effect.gen(function* () {
      const { list } = yield* seeded
      const page = yield* list("Users", 'userName co "example"', "&startIndex=2&count=1")
      assert.deepInclude(page.json, { totalResults: 4, startIndex: 2, itemsPerPage: 1 })
      assert.strictEqual(page.json.Resources[0].id, "alan-turing")
    }).pipe(Effect.scoped)
  )

  it.live("groups by displayName, id, and Entra ID's membership check", () =>
    Effect.gen(function* () {
      const { ids, list, groupId } = yield* seeded
      assert.deepStrictEqual(yield* ids("Groups", 'displayName eq "analysts"'), [groupId])
      assert.deepStrictEqual(yield* ids("Groups", `id eq "${groupId}" and members[value eq "alan-turing"]`), [groupId])
      assert.deepStrictEqual(yield* ids("Groups", `id eq "${groupId}" and members[value eq "grace-hopper"]`), [])
      const check = yield* list("Groups", `id eq "${groupId}" and members[value eq "ada-lovelace"]`, "&excludedAttributes=members")
      assert.deepInclude(check.json, { totalResults: 1 })
      assert.notProperty(check.json.Resources[0], "members")
    }).pipe(Effect.scoped)
  )

  it.live("a filter it cannot honour is a 400 invalidFilter naming what, never an unfiltered list", () =>
    Effect.gen(function* () {
      const { list } = yield* seeded
      const refused = (resource: "Users" | "Groups", filter: string, mentions: string) =>
        Effect.gen(function* () {
          const answer = yield* list(resource, filter)
          assert.strictEqual(answer.status, 400, filter)
          assert.deepInclude(answer.json, { schemas: [ERROR], status: "400", scimType: "invalidFilter" })
          assert.include(answer.json.detail, mentions, filter)
        })
      yield* refused("Groups", 'externalId eq "Analysts"', "externalId")
      yield* refused("Users", 'userName eq "a" or userName eq "b"', '"or"')
      yield* refused("Users", 'not (userName eq "a")', '"not"')
      yield* refused("Users", "title pr", '"present"')
      yield* refused("Users", 'userName gt "a"', "gt")
      yield* refused("Users", 'title eq "Admiral"', "title")
      yield* refused("Users", 'active eq "maybe"', "active")
      yield* refused("Users", "userName eq 3", "string")
      yield* refused("Users", 'displayName[value eq "x"]', "multi-valued")
      yield* refused("Groups", 'members[display eq "Ada"]', "members.display")
      yield* refused("Users", 'userName eq "unterminated', "cannot read")
      yield* refused("Users", "userName eq", "expected a value")
    }).pipe(Effect.scoped)
  )
})
