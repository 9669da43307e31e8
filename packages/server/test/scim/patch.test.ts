import { assert, describe, it } from "@effect/vitest"
import { applyPatch, parsePatchBody } from "../../src/scim/patch.ts"
import { ScimError } from "../../src/scim/ScimError.ts"
import { ENTERPRISE, USER } from "./support.ts"

const schemas = { core: [USER], extensions: [ENTERPRISE] }

const patched = (resource: Record<string, unknown>, operations: ReadonlyArray<unknown>) => {
  const ops = parsePatchBody({ Operations: operations })
  if (ops instanceof ScimError) throw ops
  const out = applyPatch(resource, ops, schemas)
  if (out instanceof ScimError) throw out
  return out
}

const ada = {
  schemas: [USER],
  id: "ada",
  userName: "ada@example.com",
  name: { formatted: "Ada Lovelace" },
  displayName: "Ada Lovelace",
  emails: [{ value: "ada@example.com", type: "work", primary: true }],
  active: true
}

describe("SCIM PATCH operations", () => {
  it("without a path, value members are attributes, dotted paths, URN paths or whole extensions", () => {
    const out = patched(ada, [
      { op: "replace", value: { active: false, "name.givenName": "Ada", [`${ENTERPRISE}:department`]: "eng" } },
      { op: "add", value: { [ENTERPRISE]: { employeeNumber: "7" }, [USER]: { displayName: "Ada K." } } }
    ])
    assert.strictEqual(out.active, false)
    assert.deepStrictEqual(out.name, { formatted: "Ada Lovelace", givenName: "Ada" })
    assert.deepStrictEqual(out[ENTERPRISE], { department: "eng", employeeNumber: "7" })
    assert.strictEqual(out.displayName, "Ada K.")
    assert.strictEqual(ada.active, true, "the input is left as it was")
  })

  it("filtered paths change, create and remove values; names ignore case", () => {
    const out = patched(ada, [
      { op: "Replace", path: 'emails[type eq "work"].value', value: "ada@work.example" },
      { op: "Add", path: 'emails[type eq "home"].value', value: "ada@home.example" },
      { op: "Replace", path: "DISPLAYNAME", value: "Countess" },
      { op: "Remove", path: 'emails[type eq "WORK"]' },
      { op: "Remove", path: "name.formatted" }
    ])
    assert.deepStrictEqual(out.emails, [{ type: "home", value: "ada@home.example" }])
    assert.strictEqual(out.displayName, "Countess")
    assert.deepStrictEqual(out.name, {})
  })

  it("members: add appends, remove takes a filter or a list, replace sets", () => {
    const group = { displayName: "g", members: [{ value: "a" }, { value: "b" }] }
    const ops = (operations: ReadonlyArray<unknown>) => patched(group, operations).members
    assert.deepStrictEqual(ops([{ op: "add", path: "members", value: [{ value: "c" }] }]), [{ value: "a" }, { value: "b" }, { value: "c" }])
    assert.deepStrictEqual(ops([{ op: "remove", path: 'members[value eq "a"]' }]), [{ value: "b" }])
    assert.deepStrictEqual(ops([{ op: "Remove", path: "members", value: [{ value: "b" }] }]), [{ value: "a" }])
    assert.deepStrictEqual(ops([{ op: "replace", path: "members", value: [{ value: "z" }] }]), [{ value: "z" }])
    assert.isUndefined(ops([{ op: "remove", path: "members" }]))
  })

  it("refuses what it cannot read", () => {
    assert.strictEqual((parsePatchBody({}) as ScimError).scimType, "invalidSyntax")
    assert.strictEqual((parsePatchBody({ operations: [{ op: "copy" }] }) as ScimError).scimType, "invalidSyntax")
    assert.strictEqual((parsePatchBody({ Operations: [{ op: "replace", value: 3 }] }) as ScimError).scimType, "invalidValue")
    const ops = parsePatchBody({ Operations: [{ op: "replace", path: "emails[type sw 1]", value: 1 }] }) as never
    assert.strictEqual((applyPatch(ada, ops, schemas) as ScimError).scimType, "invalidPath")
  })
})
