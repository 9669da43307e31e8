import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { personIdFor, startPortal } from "../embed-portal/portal.ts"

describe("embed-portal example", () => {
  let portal: Awaited<ReturnType<typeof startPortal>>
  beforeAll(async () => {
    portal = await startPortal({ store: "memory", admins: ["grace@example.com"], port: 0 })
  })
  afterAll(() => portal.close())

  const call = async (method: string, path: string, user: string | undefined, body?: unknown) => {
    const headers: Record<string, string> = { "content-type": "application/json" }
    if (user !== undefined) headers["x-portal-user"] = user
    const res = await fetch(`${portal.url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    return { status: res.status, body: (await res.json()) as any }
  }
  // `null`: nobody signed in.
  const give = (body: unknown, user: string | null = "grace@example.com") => call("POST", "/admin/assistants", user ?? undefined, body)

  it("gives an employee an assistant, and the employee sees its status", async () => {
    const created = await give({ email: "ada@example.com", displayName: "Ada Lovelace" })
    expect(created.status).toBe(201)
    expect(created.body).toEqual({
      person: { id: "ada", email: "ada@example.com", displayName: "Ada Lovelace", team: null },
      assistant: { name: "ada", phase: "Pending" }
    })

    const mine = await call("GET", "/me/assistant", "ada@example.com")
    expect(mine.status).toBe(200)
    expect(mine.body).toMatchObject({ name: "ada", phase: "Pending", conditions: [], pairingLink: null })
    // Audited as the admin who clicked, through the facade's withActor.
    expect(await portal.fleet.verifyAuditChain()).toMatchObject({ ok: true })
  })

  it("is idempotent: giving it again answers 200 with the existing one", async () => {
    const again = await give({ email: "ada@example.com", displayName: "Ada Lovelace" })
    expect(again.status).toBe(200)
    expect(again.body.assistant).toEqual({ name: "ada", phase: "Pending" })
    expect((await portal.fleet.listTenants({ owner: "ada" })).items).toHaveLength(1)

    // Two at once: both succeed, one tenant.
    const both = await Promise.all([
      give({ email: "bob@example.com", displayName: "Bob" }),
      give({ email: "bob@example.com", displayName: "Bob" })
    ])
    expect(both.map((r) => r.status).sort()).toEqual([200, 201])
    expect((await portal.fleet.listTenants({ owner: "bob" })).items).toHaveLength(1)
  })

  it("refuses a bad e-mail with clawfleet's ValidationError, naming the field", async () => {
    const bad = await give({ email: "not-an-email", displayName: "Nobody" })
    expect(bad.status).toBe(400)
    expect(bad.body.error).toBe("ValidationError")
    expect(bad.body.issues.map((i: { path: string }) => i.path)).toEqual(["email"])

    const empty = await give({ email: "eve@example.com", displayName: "" })
    expect(empty.status).toBe(400)
    expect(empty.body.issues.map((i: { path: string }) => i.path)).toEqual(["displayName"])
  })

  it("answers 409 when another e-mail already owns the derived person id", async () => {
    const clash = await give({ email: "ada@other.example", displayName: "Another Ada" })
    expect(clash.status).toBe(409)
    expect(personIdFor("Ada.Lovelace+x@example.com")).toBe("ada-lovelace-x")
  })

  it("keeps the admin route for admins", async () => {
    const asEmployee = await give({ email: "mallory@example.com", displayName: "Mallory" }, "ada@example.com")
    expect(asEmployee.status).toBe(403)
    const anonymous = await give({ email: "mallory@example.com", displayName: "Mallory" }, null)
    expect(anonymous.status).toBe(401)
    await expect(portal.fleet.getPerson("mallory")).rejects.toThrow(/does not exist/)
  })

  it("tells an employee without an assistant, and an anonymous caller, so", async () => {
    expect((await call("GET", "/me/assistant", "zoe@example.com")).status).toBe(404)
    expect((await call("GET", "/me/assistant", undefined)).status).toBe(401)
    // Same local part, different e-mail: not Ada's assistant.
    expect((await call("GET", "/me/assistant", "ada@other.example")).status).toBe(404)
  })
})
