import { Clawfleet, Fleet, PairingLinks, SigningKeys, TenantStatus, Tenants, Tokens, withActor } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted } from "effect"

const env = PairingLinks.layer.pipe(
  Layer.provideMerge(Tokens.layer({ issuer: "https://clawfleet.test" })),
  Layer.provideMerge(SigningKeys.layer()),
  Layer.provideMerge(Layer.fresh(Clawfleet.layerMemory))
)

const setStatus = (name: string, status: Partial<ConstructorParameters<typeof TenantStatus>[0]>) =>
  Effect.gen(function* () {
    const tenants = yield* Tenants
    const t = yield* tenants.get(name)
    yield* tenants.writeStatus(
      name,
      t.version,
      new TenantStatus({ phase: "Ready", conditions: [], observedGeneration: t.value.generation, ...status })
    )
  })

/** A PairingError's reason, or the tag of any other error. */
const reasonOf = <A, E extends { _tag: string }>(e: Effect.Effect<A, E, any>) =>
  Effect.map(Effect.flip(e), (err) => (err._tag === "PairingError" ? String((err as { reason?: unknown }).reason) : err._tag))

// Live clock: links wait for tenants in real (short) time here.
describe("PairingLinks", () => {
  it.live("resumes a suspended tenant and answers once it is Ready, pointing at its endpoint", () =>
    Effect.gen(function* () {
      const fleet = yield* Fleet
      yield* fleet.onboardPerson({ person: { id: "ada", email: "ada@example.com", displayName: "Ada" }, tenant: { name: "ada" } })
      yield* fleet.suspendTenant("ada")
      const links = yield* PairingLinks
      // A stand-in for the reconciler: once the spec says resumed, report Ready a little later.
      const reconciler = yield* Effect.forkChild(
        Effect.gen(function* () {
          for (;;) {
            const t = yield* (yield* Tenants).get("ada")
            if (!t.value.spec.suspended) break
            yield* Effect.sleep("20 millis")
          }
          yield* Effect.sleep("100 millis")
          yield* setStatus("ada", { endpoint: "https://ada.assistants.example.com/" })
        })
      )
      const link = yield* links.create({ tenant: "ada", requester: { person: "ada", admin: false }, waitMs: 5000 })
      yield* Fiber.join(reconciler)
      assert.match(Redacted.value(link.url), /^https:\/\/ada\.assistants\.example\.com\/clawfleet\/pair\?token=ey/)
      assert.isFalse((yield* (yield* Tenants).get("ada")).value.spec.suspended)
    }).pipe(withActor("admin@example.com"), Effect.provide(env))
  )

  it.live("refuses the wrong person, a disabled requester, a tenant not Ready in time, without an endpoint, or being deleted", () =>
    Effect.gen(function* () {
      const fleet = yield* Fleet
      for (const id of ["ada", "bob", "cy"]) {
        yield* fleet.onboardPerson({ person: { id, email: `${id}@example.com`, displayName: id }, tenant: { name: id } })
      }
      const links = yield* PairingLinks
      const ask = (tenant: string, person: string, admin = false) => links.create({ tenant, requester: { person, admin }, waitMs: 200 })
      assert.strictEqual(yield* reasonOf(ask("ada", "bob")), "Forbidden")
      assert.strictEqual(yield* reasonOf(ask("ada", "ada")), "NotReady", "Pending and nobody reconciling")
      yield* setStatus("ada", {})
      assert.strictEqual(yield* reasonOf(ask("ada", "ada")), "NoEndpoint")
      yield* setStatus("ada", { endpoint: "https://ada.example.com" })
      assert.isTrue(Redacted.value((yield* ask("ada", "bob", true)).url).startsWith("https://ada.example.com/clawfleet/pair"))
      yield* fleet.offboardPerson("cy")
      assert.strictEqual(yield* reasonOf(ask("ada", "cy", true)), "Disabled")
      yield* setStatus("bob", { endpoint: "https://bob.example.com" })
      yield* fleet.deleteTenant("bob")
      assert.strictEqual(yield* reasonOf(ask("bob", "bob")), "Deleting")
      assert.strictEqual(yield* reasonOf(ask("nobody", "ada")), "StoreError")
    }).pipe(withActor("admin@example.com"), Effect.provide(env))
  )
})
