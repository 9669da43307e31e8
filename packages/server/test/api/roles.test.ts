import { Person } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { allScopes, Roles } from "../../src/api/Roles.ts"

const person = (id: string, groups: ReadonlyArray<string> = [], disabled = false) =>
  Person.make({ id: id as Person["id"], email: `${id}@example.com` as Person["email"], displayName: id, groups: [...groups], disabled })

describe("Roles", () => {
  const roles = Roles.make({ orgAdmins: { people: ["root"], groups: ["ops", "platform-leads"] } })

  it("org administrators by id or by any of their groups", () => {
    assert.deepStrictEqual(roles.of(person("root")), { name: "org-admin" })
    assert.deepStrictEqual(roles.of(person("ana", ["staff", "platform-leads"])), { name: "org-admin" })
    assert.isTrue(roles.isOrgAdmin(person("ana", ["ops"])))
    assert.isFalse(roles.isOrgAdmin(person("bob", ["operations"])))
  })

  it("team administrators of every team their groups name, sorted, without repeats", () => {
    const role = roles.of(person("tam", ["clawfleet-team-admins-web", "clawfleet-team-admins-api", "clawfleet-team-admins-web", "x"]))
    assert.deepStrictEqual(role, { name: "team-admin", teams: ["api", "web"] })
    // The bare prefix names no team.
    assert.deepStrictEqual(roles.of(person("eve", ["clawfleet-team-admins-"])), { name: "member" })
    // Org administration wins over team administration.
    assert.deepStrictEqual(roles.of(person("root", ["clawfleet-team-admins-web"])), { name: "org-admin" })
  })

  it("a configurable prefix; everyone else, and anyone disabled, is a member", () => {
    const custom = Roles.make({ teamAdminGroupPrefix: "lead/" })
    assert.deepStrictEqual(custom.of(person("tam", ["lead/web", "clawfleet-team-admins-api"])), { name: "team-admin", teams: ["web"] })
    assert.deepStrictEqual(Roles.make().of(person("root")), { name: "member" }, "nobody is an administrator by default")
    assert.deepStrictEqual(roles.of(person("root", [], true)), { name: "member" })
    assert.throws(() => Roles.make({ teamAdminGroupPrefix: "" }))
  })

  it("scopes are resource:verb, the form API tokens accept", () => {
    assert.includeMembers(
      [...allScopes],
      ["people:read", "people:write", "tenants:read", "tenants:write", "tenants:pair", "org:read", "org:write"]
    )
    for (const scope of allScopes) assert.match(scope, /^[a-z][a-z-]{0,31}:[a-z][a-z-]{0,31}$/)
  })
})
