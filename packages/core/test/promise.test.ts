import { StoreError, ValidationError } from "@clawfleet/core"
import {
  createClawfleet,
  InvalidState,
  isAlreadyExists,
  isClawfleetError,
  isConflict,
  isInvalidState,
  isNotFound,
  isStoreError,
  isValidationError
} from "@clawfleet/core/promise"
import { describe, expect, it } from "vitest"

// The README's example, so it cannot rot.
describe("@clawfleet/core/promise", () => {
  it("runs the README example end to end", async () => {
    await using fleet = await createClawfleet()
    await fleet.createDepartment({ id: "engineering", displayName: "Engineering" })
    await fleet.createTeam({ id: "platform", displayName: "Platform", department: "engineering" })
    await fleet.putCatalogItem("model", { name: "gpt-4.1", upstream: "openai" })
    const { tenant } = await fleet.withActor("portal:grace@example.com", "req-42").onboardPerson({
      person: { id: "ada", email: "ada@example.com", displayName: "Ada Lovelace", team: "platform" }
    })
    await fleet.grant({ subject: { kind: "team", id: "platform" }, resource: { kind: "model", name: "*" }, effect: "allow" })
    expect(await fleet.check("ada", { kind: "model", name: "gpt-4.1" })).toEqual({ allowed: true, reason: "allowed" })
    const access = await fleet.effectiveAccess(tenant!.name)
    expect(access.models).toEqual(["gpt-4.1"])
    expect(await fleet.verifyAuditChain()).toMatchObject({ ok: true, events: 6 })
    const page = await fleet.listTenants({ owner: "ada" })
    expect(page.items.map((t) => [t.value.name, t.version])).toEqual([["ada", 1]])
  })

  it("rejects with the typed errors, which are Errors", async () => {
    await using fleet = await createClawfleet({ actor: "script" })
    const invalid = await fleet.onboardPerson({ person: { id: "Ada!", email: "nope", displayName: "" } }).catch((e: unknown) => e)
    expect(invalid).toBeInstanceOf(ValidationError)
    expect(invalid).toBeInstanceOf(Error)
    expect((invalid as ValidationError).issues.map((i) => i.path)).toEqual(["id", "email", "displayName"])
    const missing = await fleet.getTenant("nobody").catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(StoreError)
    expect((missing as StoreError).reason._tag).toBe("NotFound")
    expect((missing as StoreError).isRetryable).toBe(false)
    expect((missing as StoreError).message).toBe('tenant "nobody" does not exist')
  })

  it("exports guards to branch on failures without importing Effect", async () => {
    await using fleet = await createClawfleet()
    const person = { id: "ada", email: "ada@example.com", displayName: "Ada" }
    await fleet.onboardPerson({ person })
    const taken = await fleet.onboardPerson({ person }).catch((e: unknown) => e)
    const missing = await fleet.getPerson("nobody").catch((e: unknown) => e)
    const invalid = await fleet.updateTenant("ada", { owner: "bob" } as never).catch((e: unknown) => e)
    const stale = await fleet.updateTenant("ada", {}, { expectedGeneration: 99 }).catch((e: unknown) => e)
    const guards = { isAlreadyExists, isNotFound, isConflict, isValidationError, isInvalidState, isStoreError, isClawfleetError }
    const which = (e: unknown) =>
      Object.entries(guards)
        .filter(([, guard]) => guard(e))
        .map(([name]) => name)
    expect(which(taken)).toEqual(["isAlreadyExists", "isStoreError", "isClawfleetError"])
    expect(which(missing)).toEqual(["isNotFound", "isStoreError", "isClawfleetError"])
    expect(which(invalid)).toEqual(["isValidationError", "isClawfleetError"])
    expect(which(stale)).toEqual(["isConflict", "isStoreError", "isClawfleetError"])
    expect(which(new Error("a bug"))).toEqual([])
    expect((taken as Error).message).toBe('person "ada" already exists')
  })

  it("finds a person by e-mail, ignoring case, and says when it cannot", async () => {
    await using fleet = await createClawfleet()
    await fleet.onboardPerson({ person: { id: "ada", email: "Ada@Example.com", displayName: "Ada" }, tenant: false })
    expect((await fleet.findPersonByEmail("ada@example.COM"))?.id).toBe("ada")
    expect(await fleet.findPersonByEmail("bob@example.com")).toBeUndefined()
    // Seen at once: the index follows the directory.
    await fleet.onboardPerson({ person: { id: "bob", email: "bob@example.com", displayName: "Bob" }, tenant: false })
    expect((await fleet.findPersonByEmail("bob@example.com"))?.id).toBe("bob")

    const invalid = await fleet.findPersonByEmail("not-an-email").catch((e: unknown) => e)
    expect(isValidationError(invalid) && invalid.issues.map((i) => i.path)).toEqual(["email"])
    await fleet.onboardPerson({ person: { id: "ada-2", email: "ada@example.com", displayName: "Ada Two" }, tenant: false })
    const ambiguous = await fleet.findPersonByEmail("ada@example.com").catch((e: unknown) => e)
    expect(ambiguous).toBeInstanceOf(InvalidState)
    expect((ambiguous as Error).message).toBe('e-mail address "ada@example.com" belongs to more than one person (ada, ada-2)')
  })

  it("keeps clients apart: no global state", async () => {
    await using a = await createClawfleet()
    await using b = await createClawfleet()
    await a.onboardPerson({ person: { id: "ada", email: "ada@example.com", displayName: "Ada" }, tenant: false })
    await expect(b.getPerson("ada")).rejects.toThrow(/does not exist/)
    expect((await a.getPerson("ada")).email).toBe("ada@example.com")
  })

  it("fails at start, with the reason, when the database cannot be reached", async () => {
    await expect(createClawfleet({ store: { postgres: "postgres://nobody@127.0.0.1:1/none" } })).rejects.toThrow()
  })

  it("refuses calls after dispose", async () => {
    const fleet = await createClawfleet()
    await fleet.dispose()
    await expect(fleet.getPerson("ada")).rejects.toThrow()
  })
})
