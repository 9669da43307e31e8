import { agentAudience, SigningKeys, Store, TenantStatus, Tenants, Tokens } from "@clawfleet/core"
import { Effect, Layer, ManagedRuntime } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { personIdFor, startPortal } from "../embed-portal/portal.ts"

const CONTROL_PLANE = "https://clawfleet.test"

/**
 * The clawfleet control plane beside the portal, on the same store: it reports tenants Ready (no
 * reconciler runs here) and redeems pairing tokens as a tenant agent asks it to.
 */
const controlPlane = ManagedRuntime.make(
  Tokens.layer({ issuer: CONTROL_PLANE }).pipe(Layer.provideMerge(SigningKeys.layer()), Layer.provideMerge(Store.layerMemory))
)
const ready = (tenant: string) =>
  controlPlane.runPromise(
    Effect.gen(function* () {
      const tenants = yield* Tenants
      const t = yield* tenants.get(tenant)
      const endpoint = `https://${tenant}.assistants.example.com`
      yield* tenants.writeStatus(
        tenant,
        t.version,
        new TenantStatus({ phase: "Ready", conditions: [], observedGeneration: t.value.generation, endpoint })
      )
    })
  )
/** What `tenant`'s agent gets for the link: the token's claims, or why it was refused. */
const redeem = (link: string, tenant: string) =>
  controlPlane.runPromise(
    Tokens.use((tokens) => tokens.redeemPairing(new URL(link).searchParams.get("token") ?? "", { audience: agentAudience(tenant) })).pipe(
      Effect.match({ onFailure: (e) => ({ refused: e._tag === "TokenError" ? e.reason : e.message }), onSuccess: (claims) => claims })
    )
  )

describe("embed-portal example", () => {
  let portal: Awaited<ReturnType<typeof startPortal>>
  beforeAll(async () => {
    const store = { layer: Layer.succeedContext(await controlPlane.context()) }
    portal = await startPortal({ store, pairing: { controlPlaneUrl: CONTROL_PLANE }, admins: ["grace@example.com"], port: 0 })
  })
  afterAll(async () => {
    await portal.close()
    await controlPlane.dispose()
  })

  const call = async (method: string, path: string, user: string | undefined, body?: unknown) => {
    const headers: Record<string, string> = { "content-type": "application/json" }
    if (user !== undefined) headers["x-portal-user"] = user
    const res = await fetch(`${portal.url}${path}`, {
      method,
      headers,
      redirect: "manual",
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const location = res.headers.get("location")
    return { status: res.status, location, body: (location === null ? await res.json() : undefined) as any }
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

    // Found by e-mail, whatever its case.
    const mine = await call("GET", "/me/assistant", "Ada@Example.com")
    expect(mine.status).toBe(200)
    expect(mine.body).toEqual({ name: "ada", phase: "Pending", conditions: [], open: "/me/assistant/open" })
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
    expect(clash.body.error).toBe('person id "ada" is taken by another e-mail address')
    expect(personIdFor("Ada.Lovelace+x@example.com")).toBe("ada-lovelace-x")
  })

  it("keeps the admin route for admins", async () => {
    const asEmployee = await give({ email: "mallory@example.com", displayName: "Mallory" }, "ada@example.com")
    expect(asEmployee.status).toBe(403)
    const anonymous = await give({ email: "mallory@example.com", displayName: "Mallory" }, null)
    expect(anonymous.status).toBe(401)
    expect(await portal.fleet.findPersonByEmail("mallory@example.com")).toBeUndefined()
  })

  it("tells an employee without an assistant, and an anonymous caller, so", async () => {
    expect((await call("GET", "/me/assistant", "zoe@example.com")).status).toBe(404)
    expect((await call("GET", "/me/assistant", undefined)).status).toBe(401)
    // Same local part, different e-mail: not Ada's assistant.
    expect((await call("GET", "/me/assistant", "ada@other.example")).status).toBe(404)
  })

  it("opens the employee's own assistant: a 303 to a link its tenant agent accepts, once", async () => {
    await ready("ada")
    const open = await call("GET", "/me/assistant/open", "ada@example.com")
    expect(open.status).toBe(303)
    expect(open.location).toMatch(/^https:\/\/ada\.assistants\.example\.com\/clawfleet\/pair\?token=/)
    expect(await redeem(open.location!, "ada")).toMatchObject({ kind: "pairing", issuer: CONTROL_PLANE, tenant: "ada", person: "ada" })
    expect(await redeem(open.location!, "ada")).toEqual({ refused: "Reused" })
    // Each visit gets a fresh one.
    const again = await call("GET", "/me/assistant/open", "ada@example.com")
    expect(await redeem(again.location!, "ada")).toMatchObject({ person: "ada" })
  })

  it("opens nobody else's assistant", async () => {
    await ready("bob")
    // Bob is sent to his own assistant; its link is no good for Ada's.
    const bob = await call("GET", "/me/assistant/open", "bob@example.com")
    expect(bob.location).toMatch(/^https:\/\/bob\.assistants\.example\.com\//)
    expect(await redeem(bob.location!, "ada")).toEqual({ refused: "WrongAudience" })
    // Ada's local part with another e-mail, and no assistant at all: 404, never a link.
    expect((await call("GET", "/me/assistant/open", "ada@other.example")).status).toBe(404)
    const none = await call("GET", "/me/assistant/open", "zoe@example.com")
    expect(none).toMatchObject({ status: 404, location: null, body: { error: "you have no assistant yet: ask an administrator" } })
    expect((await call("GET", "/me/assistant/open", undefined)).status).toBe(401)
  })
})
