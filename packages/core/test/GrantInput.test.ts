import { AccessIndex, Clawfleet, canonicalHost, Fleet, Grant, Grants, Person, withActor } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"

/** Grant input that would silently weaken deny-by-default is refused, and checks read hosts canonically. */

const withFleet = <A, E>(self: Effect.Effect<A, E, Clawfleet.Services>) =>
  self.pipe(withActor("admin@example.com"), Effect.provide(Layer.fresh(Clawfleet.layerMemory)))

const seed = Effect.gen(function* () {
  const fleet = yield* Fleet
  yield* fleet.onboardPerson({ person: { id: "ada", email: "ada@example.com", displayName: "Ada" } })
  return fleet
})

describe("grant input", () => {
  it.effect("refuses an unknown field, so a misspelt expiry never becomes a grant without end", () =>
    withFleet(
      Effect.gen(function* () {
        const fleet = yield* seed
        const err = yield* Effect.flip(
          fleet.grant({
            subject: { kind: "org" },
            resource: { kind: "model", name: "*" },
            effect: "allow",
            expiresAT: "2030-01-01T00:00:00Z"
          } as never)
        )
        assert.strictEqual(err._tag, "ValidationError")
        assert.match(err.message, /expiresAT/)
        assert.strictEqual((yield* fleet.listGrants()).items.length, 0)
      })
    )
  )

  it.effect("refuses an expiry that has already passed", () =>
    withFleet(
      Effect.gen(function* () {
        const fleet = yield* seed
        yield* TestClock.adjust("1 hour")
        const err = yield* Effect.flip(
          fleet.grant({
            subject: { kind: "org" },
            resource: { kind: "model", name: "*" },
            effect: "allow",
            expiresAt: "1970-01-01T00:30:00Z"
          })
        )
        assert.match(err.message, /expiresAt: must lie in the future/)
      })
    )
  )

  it.effect("refuses subjects that do not exist, so a deny on a misspelt team cannot be a no-op", () =>
    withFleet(
      Effect.gen(function* () {
        const fleet = yield* seed
        for (const subject of [
          { kind: "team", id: "platfrom" },
          { kind: "department", id: "nowhere" },
          { kind: "person", id: "nobody" }
        ] as const) {
          const err = yield* Effect.flip(fleet.grant({ subject, resource: { kind: "model", name: "*" }, effect: "deny" }))
          assert.match(err.message, /subject\.id: .* does not exist/)
        }
      })
    )
  )

  it.effect("keeps denied hosts with the allowed pattern above them in the compiled access", () =>
    withFleet(
      Effect.gen(function* () {
        const fleet = yield* seed
        yield* fleet.putCatalogItem("egress", { name: "*.github.com" })
        yield* fleet.grant({ subject: { kind: "org" }, resource: { kind: "egress", name: "*.github.com" }, effect: "allow" })
        yield* fleet.grant({
          subject: { kind: "person", id: "ada" },
          resource: { kind: "egress", name: "gist.github.com" },
          effect: "deny"
        })
        const access = yield* fleet.effectiveAccess("ada")
        assert.deepStrictEqual(access.egress, [{ pattern: "*.github.com", except: ["gist.github.com"] }])
        assert.strictEqual((yield* fleet.check("ada", { kind: "egress", name: "gist.github.com" })).reason, "denied-by-grant")
        assert.strictEqual((yield* fleet.check("ada", { kind: "egress", name: "api.github.com" })).reason, "allowed")
      })
    )
  )

  it.effect("compares egress hosts as host names: case, a trailing dot or IDN spelling change nothing", () =>
    withFleet(
      Effect.gen(function* () {
        const fleet = yield* seed
        yield* fleet.grant({ subject: { kind: "org" }, resource: { kind: "egress", name: "*" }, effect: "allow" })
        yield* fleet.grant({ subject: { kind: "org" }, resource: { kind: "egress", name: "*.evil.com" }, effect: "deny" })
        yield* fleet.grant({ subject: { kind: "org" }, resource: { kind: "egress", name: "xn--mnchen-3ya.de" }, effect: "deny" })
        const grants = yield* Grants
        const reason = (name: string) => Effect.map(grants.check("ada", { kind: "egress", name }), (d) => d.reason)
        for (const host of ["x.evil.com", "X.EVIL.COM", "x.evil.com.", "München.de", "MÜNCHEN.DE."]) {
          assert.strictEqual(yield* reason(host), "denied-by-grant", host)
        }
        assert.strictEqual(yield* reason("good.example.com"), "allowed")
        for (const junk of [
          "",
          "a b.com",
          "evil.com/path",
          "a@x.evil.com",
          "x.evil.com:443",
          "x.evil.com\u0000",
          "http://x.evil.com",
          "..",
          "*"
        ]) {
          assert.strictEqual(yield* reason(junk), "no-grant", JSON.stringify(junk))
        }
      })
    )
  )
})

describe("canonicalHost", () => {
  it("keeps canonical names and patterns as they are and refuses what is no host", () => {
    assert.strictEqual(canonicalHost("api.github.com"), "api.github.com")
    assert.strictEqual(canonicalHost("*.GitHub.com"), "*.github.com")
    assert.strictEqual(canonicalHost("Bücher.example."), "xn--bcher-kva.example")
    assert.isUndefined(canonicalHost("a..b"))
    assert.isUndefined(canonicalHost("exa mple.com"))
  })

  it("lets an index decide for people whose team record is gone, keeping that team's denies", () => {
    const ada = Schema.decodeUnknownSync(Person)({ id: "ada", email: "ada@example.com", displayName: "Ada", team: "gone" })
    const index = AccessIndex.build({
      people: [ada],
      teams: [],
      grants: [
        Schema.decodeUnknownSync(Grant)({
          id: "1",
          subject: { kind: "team", id: "gone" },
          resource: { kind: "model", name: "*" },
          effect: "deny",
          actor: "t",
          createdAt: "1970-01-01T00:00:00Z"
        })
      ]
    })
    assert.strictEqual(index.check("ada", "model", "gpt-4.1", 0).reason, "denied-by-grant")
  })
})
