import { StoreError, ValidationError } from "@clawfleet/core"
import { createClawfleet } from "@clawfleet/core/promise"
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
