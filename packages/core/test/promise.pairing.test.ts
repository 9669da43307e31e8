import { agentAudience, SigningKeys, Store, TenantStatus, Tenants, Tokens } from "@clawfleet/core"
import { createClawfleet, isNotFound, isPairingError, isValidationError, PairingError, ValidationError } from "@clawfleet/core/promise"
import { Effect, Layer, ManagedRuntime } from "effect"
import { afterEach, beforeEach, describe, expect, it } from "vitest"

const CONTROL_PLANE = "https://clawfleet.test"

/**
 * The control plane's side of a shared store: tenant agents redeem links through its `Tokens`,
 * and the reconciler reports tenants Ready (written directly here, as no reconciler runs).
 */
const controlPlane = () => {
  const runtime = ManagedRuntime.make(
    Tokens.layer({ issuer: CONTROL_PLANE }).pipe(Layer.provideMerge(SigningKeys.layer()), Layer.provideMerge(Store.layerMemory))
  )
  return {
    runtime,
    store: async () => ({ layer: Layer.succeedContext(await runtime.context()) }),
    ready: (tenant: string, endpoint: string) =>
      runtime.runPromise(
        Effect.gen(function* () {
          const tenants = yield* Tenants
          const t = yield* tenants.get(tenant)
          const status = new TenantStatus({ phase: "Ready", conditions: [], observedGeneration: t.value.generation, endpoint })
          yield* tenants.writeStatus(tenant, t.version, status)
        })
      ),
    /** What the tenant agent does with the link's token: its claims, or why it was refused. */
    redeem: (url: string, tenant: string) =>
      runtime.runPromise(
        Tokens.use((tokens) =>
          tokens.redeemPairing(new URL(url).searchParams.get("token") ?? "", { audience: agentAudience(tenant) })
        ).pipe(
          Effect.match({
            onFailure: (e) => ({ refused: e._tag === "TokenError" ? e.reason : e.message }),
            onSuccess: (claims) => claims
          })
        )
      )
  }
}

describe("@clawfleet/core/promise pairingLink", () => {
  let cp: ReturnType<typeof controlPlane>
  beforeEach(() => {
    cp = controlPlane()
  })
  afterEach(() => cp.runtime.dispose())

  const start = async (isAdmin?: (p: { email: string }) => boolean, controlPlaneUrl = CONTROL_PLANE) => {
    const fleet = await createClawfleet({ store: await cp.store(), actor: "portal", pairing: { controlPlaneUrl, isAdmin } })
    for (const id of ["ada", "bob", "grace"]) {
      await fleet.onboardPerson({ person: { id, email: `${id}@example.com`, displayName: id }, tenant: id === "grace" ? false : undefined })
    }
    await cp.ready("ada", "https://ada.assistants.example.com/")
    return fleet
  }

  it("gives the owner a single-use link that ada's tenant agent accepts", async () => {
    await using fleet = await start()
    const link = await fleet.pairingLink("ada", { person: "ada" })
    expect(link.url).toMatch(/^https:\/\/ada\.assistants\.example\.com\/clawfleet\/pair\?token=ey/)
    expect(link.expiresAt).toBeInstanceOf(Date)

    const claims = await cp.redeem(link.url, "ada")
    expect(claims).toMatchObject({ kind: "pairing", issuer: CONTROL_PLANE, tenant: "ada", person: "ada" })
    expect((claims as { expiresAt: number }).expiresAt).toBe(link.expiresAt.getTime())
    expect(await cp.redeem(link.url, "ada")).toEqual({ refused: "Reused" })
    // Another tenant's agent refuses it.
    expect(await cp.redeem((await fleet.pairingLink("ada", { person: "ada" })).url, "bob")).toMatchObject({
      refused: "WrongAudience"
    })
  })

  it("refuses anyone but the owner, unless isAdmin says they administer the fleet", async () => {
    await using fleet = await start((p) => p.email === "grace@example.com")
    const refused = await fleet.pairingLink("ada", { person: "bob" }).catch((e: unknown) => e)
    expect(isPairingError(refused)).toBe(true)
    expect(refused).toBeInstanceOf(PairingError)
    expect((refused as PairingError).reason).toBe("Forbidden")
    expect((refused as PairingError).message).toMatch(/^no pairing link for tenant "ada" \(Forbidden\)/)

    const asAdmin = await fleet.pairingLink("ada", { person: "grace" })
    expect(await cp.redeem(asAdmin.url, "ada")).toMatchObject({ person: "grace", tenant: "ada" })
    // Nobody is an administrator by default.
    await using plain = await createClawfleet({ store: await cp.store(), pairing: { controlPlaneUrl: CONTROL_PLANE } })
    await expect(plain.pairingLink("ada", { person: "grace" })).rejects.toMatchObject({ _tag: "PairingError", reason: "Forbidden" })
  })

  it("says what is wrong with the request, the tenant or its state", async () => {
    await using fleet = await start()
    const missing = await fleet.pairingLink("nobody", { person: "ada" }).catch((e: unknown) => e)
    expect(isNotFound(missing)).toBe(true)
    expect((missing as Error).message).toBe('tenant "nobody" does not exist')

    const noPerson = await fleet.pairingLink("ada", {} as { person: string }).catch((e: unknown) => e)
    expect(isValidationError(noPerson)).toBe(true)
    expect((noPerson as ValidationError).issues.map((i) => i.path)).toEqual(["person"])
    const badWait = await fleet.pairingLink("ada", { person: "ada", waitMs: -1 }).catch((e: unknown) => e)
    expect((badWait as ValidationError).issues).toEqual([{ path: "waitMs", message: "must be 0 to 600000 milliseconds" }])

    // Bob's assistant is Pending and nothing reconciles it.
    const notReady = await fleet.pairingLink("bob", { person: "bob", waitMs: 0 }).catch((e: unknown) => e)
    expect(notReady).toMatchObject({ _tag: "PairingError", reason: "NotReady", isRetryable: true })
  })

  it("signs under the control plane's origin: a link signed for another is refused", async () => {
    await using fleet = await start(undefined, "https://elsewhere.test/api")
    const link = await fleet.pairingLink("ada", { person: "ada" })
    expect(await cp.redeem(link.url, "ada")).toEqual({ refused: "WrongIssuer" })
  })

  it("needs to be told the control plane, as a URL", async () => {
    await using fleet = await createClawfleet()
    await expect(fleet.pairingLink("ada", { person: "ada" })).rejects.toThrow(/pairingLink needs createClawfleet\(\{ pairing/)
    const bad = await createClawfleet({ pairing: { controlPlaneUrl: "clawfleet.example.com" } }).catch((e: unknown) => e)
    expect(bad).toBeInstanceOf(ValidationError)
    expect((bad as ValidationError).issues.map((i) => i.path)).toEqual(["pairing.controlPlaneUrl"])
  })
})
