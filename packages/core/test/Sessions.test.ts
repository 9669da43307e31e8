import { createHash } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { Audit } from "../src/Audit.ts"
import * as Clawfleet from "../src/Clawfleet.ts"
import { Directory } from "../src/Directory.ts"
import { Fleet } from "../src/Fleet.ts"
import { Sessions } from "../src/identity/Sessions.ts"
import { RecordStore } from "../src/store/RecordStore.ts"

/**
 * Sessions over the memory store. Every test gets a fresh store and a TestClock that starts at 0;
 * sessions idle out after 30 minutes and end 12 hours after sign-in.
 */

const withSessions = <A, E>(self: Effect.Effect<A, E, Sessions | Clawfleet.Services>) =>
  self.pipe(
    Effect.provide(Layer.fresh(Sessions.layer({ idleMinutes: 30, absoluteHours: 12 }).pipe(Layer.provideMerge(Clawfleet.layerMemory))))
  )

const seed = Effect.gen(function* () {
  const fleet = yield* Fleet
  yield* fleet.onboardPerson({ person: { id: "ada", email: "ada@example.com", displayName: "Ada" }, tenant: false })
  yield* fleet.onboardPerson({ person: { id: "bob", email: "bob@example.com", displayName: "Bob" }, tenant: false })
  return yield* Sessions
})

const personOf = (sessions: Sessions["Service"], token: Redacted.Redacted<string>) => Effect.map(sessions.verify(token), (p) => p?.id)

const versionOf = (id: string) =>
  Effect.gen(function* () {
    return (yield* (yield* RecordStore).get("sessions", id))?.version
  })

describe("Sessions", () => {
  it.effect("issues a 256-bit token and keeps only its SHA-256", () =>
    withSessions(
      Effect.gen(function* () {
        const sessions = yield* seed
        const { token, session } = yield* sessions.create("ada")
        const raw = Redacted.value(token)
        assert.match(raw, /^cfs_[A-Za-z0-9_-]{43}$/)
        assert.strictEqual(session.id, createHash("sha256").update(raw).digest("hex"))
        const row = yield* (yield* RecordStore).get("sessions", session.id)
        assert.notInclude(JSON.stringify(row), raw.slice(4))
        assert.deepStrictEqual(row?.data, {
          id: session.id,
          person: "ada",
          createdAt: "1970-01-01T00:00:00.000Z",
          lastSeenAt: "1970-01-01T00:00:00.000Z",
          absoluteExpiry: "1970-01-01T12:00:00.000Z"
        })
        assert.strictEqual(yield* personOf(sessions, token), "ada")
        assert.strictEqual((yield* sessions.verify(raw))?.id, "ada")
      })
    )
  )

  it.effect("refuses malformed and unknown tokens, and sessions of nobody", () =>
    withSessions(
      Effect.gen(function* () {
        const sessions = yield* seed
        assert.isUndefined(yield* sessions.verify(""))
        assert.isUndefined(yield* sessions.verify("not a token"))
        assert.isUndefined(yield* sessions.verify(`cfs_${"A".repeat(43)}`))
        const missing = yield* Effect.flip(sessions.create("nobody"))
        assert.strictEqual(missing.reason._tag, "NotFound")
      })
    )
  )

  it.effect("ends a session nobody used for the idle time", () =>
    withSessions(
      Effect.gen(function* () {
        const sessions = yield* seed
        const { token, session } = yield* sessions.create("ada")
        // Each use within the idle time pushes the end out again.
        for (let i = 0; i < 4; i++) {
          yield* TestClock.adjust("29 minutes")
          assert.strictEqual(yield* personOf(sessions, token), "ada", `use ${i + 1}`)
        }
        yield* TestClock.adjust("30 minutes")
        assert.isUndefined(yield* sessions.verify(token))
        assert.isUndefined(yield* versionOf(session.id), "a session that failed is deleted")
      })
    )
  )

  it.effect("ends every session at its absolute expiry, however busy", () =>
    withSessions(
      Effect.gen(function* () {
        const sessions = yield* seed
        const { token } = yield* sessions.create("ada")
        for (let minutes = 20; minutes < 12 * 60; minutes += 20) {
          yield* TestClock.adjust("20 minutes")
          assert.strictEqual(yield* personOf(sessions, token), "ada", `after ${minutes} minutes`)
        }
        yield* TestClock.adjust("20 minutes")
        assert.isUndefined(yield* sessions.verify(token))
      })
    )
  )

  it.effect("writes lastSeenAt at most once a minute, unaudited", () =>
    withSessions(
      Effect.gen(function* () {
        const sessions = yield* seed
        const { token, session } = yield* sessions.create("ada")
        const created = yield* versionOf(session.id)
        const auditBefore = (yield* (yield* Audit).list({ limit: 1000 })).length
        for (let s = 0; s < 59; s++) {
          yield* TestClock.adjust("1 second")
          yield* sessions.verify(token)
        }
        assert.strictEqual(yield* versionOf(session.id), created, "59 requests in the first minute write nothing")
        yield* TestClock.adjust("1 second")
        for (let i = 0; i < 50; i++) yield* sessions.verify(token)
        assert.strictEqual(yield* versionOf(session.id), created! + 1, "the 60th second writes once")
        const row = yield* (yield* RecordStore).get("sessions", session.id)
        assert.strictEqual((row!.data as { lastSeenAt: string }).lastSeenAt, "1970-01-01T00:01:00.000Z")
        assert.strictEqual((yield* (yield* Audit).list({ limit: 1000 })).length, auditBefore, "touches are not audited")
      })
    )
  )

  it.effect("revokes one session, or every session of a person", () =>
    withSessions(
      Effect.gen(function* () {
        const sessions = yield* seed
        const first = yield* sessions.create("ada")
        const second = yield* sessions.create("ada")
        const bobs = yield* sessions.create("bob")
        yield* sessions.revoke(first.token)
        yield* sessions.revoke(first.token)
        yield* sessions.revoke("garbage")
        assert.isUndefined(yield* sessions.verify(first.token))
        assert.strictEqual(yield* personOf(sessions, second.token), "ada")
        const third = yield* sessions.create("ada")
        assert.strictEqual(yield* sessions.revokeAllOf("ada"), 2)
        assert.isUndefined(yield* sessions.verify(second.token))
        assert.isUndefined(yield* sessions.verify(third.token))
        assert.strictEqual(yield* personOf(sessions, bobs.token), "bob")
      })
    )
  )

  it.effect("a person's sessions die when they are offboarded or removed, and stay dead", () =>
    withSessions(
      Effect.gen(function* () {
        const sessions = yield* seed
        const fleet = yield* Fleet
        const ada = yield* sessions.create("ada")
        const bob = yield* sessions.create("bob")
        yield* fleet.offboardPerson("ada")
        assert.isUndefined(yield* sessions.verify(ada.token))
        yield* fleet.updatePerson("ada", { disabled: false })
        assert.isUndefined(yield* sessions.verify(ada.token), "re-enabling does not revive a session")
        const directory = yield* Directory
        const row = yield* directory.people.get("bob")
        yield* directory.people.remove("bob", row.version)
        assert.isUndefined(yield* sessions.verify(bob.token))
      })
    )
  )

  it.effect("purges sessions that timed out without being presented again", () =>
    withSessions(
      Effect.gen(function* () {
        const sessions = yield* seed
        yield* sessions.create("ada")
        yield* sessions.create("bob")
        yield* TestClock.adjust("20 minutes")
        const fresh = yield* sessions.create("ada")
        assert.strictEqual(yield* sessions.purgeExpired, 0)
        yield* TestClock.adjust("15 minutes")
        assert.strictEqual(yield* sessions.purgeExpired, 2)
        assert.strictEqual(yield* personOf(sessions, fresh.token), "ada")
      })
    )
  )
})
