import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { isNoSuchOperation, isProblem, type Operation, operationsOf, readSpec, send } from "./operations.ts"
import { type Fixture, makeFixture, type Who } from "./support.ts"

/**
 * Every operation of the served OpenAPI document, sent as each kind of caller. Authorization is
 * proven per operation, not per handler a reviewer remembered: a new operation without a policy is
 * refused to everybody (the org admin walk fails), one open to members without narrowing to
 * their own records answers a member (the exact-set assertions fail), and one outside the
 * `Authorization` middleware answers without credentials (the 401 walk fails).
 */

const others = { person: "otto", tenant: "otto" }
const own = { person: "mia", tenant: "mia" }

/** Each operation against a fresh fleet, so one operation's writes never decide another's answer. */
const walk = (
  ids: { readonly person: string; readonly tenant: string },
  auth: (fixture: Fixture) => Effect.Effect<{ readonly as?: Who; readonly token?: string; readonly headers?: Record<string, string> }>
) =>
  Effect.gen(function* () {
    const operations = operationsOf(yield* Effect.scoped(Effect.flatMap(makeFixture({ catalog: true, ready: true }), readSpec)))
    assert.isAbove(operations.length, 10)
    const answers = new Map<string, number>()
    for (const op of operations) {
      const response = yield* Effect.scoped(
        Effect.gen(function* () {
          const fixture = yield* makeFixture({ catalog: true, ready: true })
          return yield* send(fixture, op, ids, yield* auth(fixture))
        })
      )
      assert.isTrue(isProblem(response) || response.status < 400, `${op.id} answered ${response.status} without a problem document`)
      assert.isBelow(response.status, 500, `${op.id}: ${JSON.stringify(response.json)}`)
      assert.isFalse(isNoSuchOperation(response), `${op.id} is in the document but not served`)
      answers.set(op.id, response.status)
    }
    return { operations, answers }
  })

const allowed = (answers: Map<string, number>) =>
  [...answers]
    .filter(([, status]) => status !== 403)
    .map(([id]) => id)
    .sort()

/** The catalog is open to everyone signed in, to read. */
const catalogReads = ["egressDomains", "knowledgeBases", "models", "skills", "tools"].flatMap((g) => [
  `${g}.get`,
  `${g}.list`,
  ...(g === "skills" ? ["skills.getBundle"] : [])
])
const including = (...ids: ReadonlyArray<string>) => [...catalogReads, ...ids].sort()

describe("route walk", () => {
  it.live("without credentials, or with bad ones, every operation answers 401", () =>
    Effect.gen(function* () {
      for (const auth of [
        {},
        { token: "cft_not-a-real-token" },
        { headers: { cookie: "cf_session=cfs_forged" } },
        { headers: { authorization: "Basic YTpi" } }
      ]) {
        const { operations, answers } = yield* walk(others, () => Effect.succeed(auth))
        for (const op of operations) assert.strictEqual(answers.get(op.id), 401, `${op.id} with ${JSON.stringify(auth)}`)
      }
    })
  )

  it.live("a member who owns nothing there is refused everything but /me and reading the catalog", () =>
    Effect.gen(function* () {
      const { answers } = yield* walk(others, () => Effect.succeed({ as: "nemo" }))
      assert.deepStrictEqual(allowed(answers), including("me.get", "tokens.create", "tokens.list"))
    })
  )

  it.live("a member reaches exactly their own person and tenants (read, history, pair, suspend, resume) and their own access", () =>
    Effect.gen(function* () {
      const { answers } = yield* walk(own, () => Effect.succeed({ as: "mia" }))
      assert.deepStrictEqual(
        allowed(answers),
        including(
          "grants.effective",
          "grants.explain",
          "me.get",
          "people.get",
          "tenants.events",
          "tenants.get",
          "tenants.pairing",
          "tenants.resume",
          "tenants.suspend",
          "tokens.create",
          "tokens.delete",
          "tokens.list",
          "usage.get",
          "usage.ledger"
        )
      )
      for (const id of allowed(answers)) assert.isBelow(answers.get(id)!, 300, id)
    })
  )

  it.live("a team administrator is refused another team's records and the organisation's shape", () =>
    Effect.gen(function* () {
      const { answers } = yield* walk(others, () => Effect.succeed({ as: "tam" }))
      // Lists answer (narrowed to their teams); the sample creates are in their team (a person in
      // platform, a tenant for mia) and work; nothing of otto's does.
      assert.deepStrictEqual(
        allowed(answers),
        including(
          "departments.list",
          "me.get",
          "people.create",
          "people.list",
          "teams.list",
          "tenants.create",
          "tenants.list",
          "tokens.create",
          "tokens.list"
        )
      )
    })
  )

  it.live("an org administrator, by id or by group, may call every operation", () =>
    Effect.gen(function* () {
      for (const who of ["root", "olga"] as const) {
        const { operations, answers } = yield* walk(others, () => Effect.succeed({ as: who }))
        for (const op of operations) assert.isBelow(answers.get(op.id)!, 300, `${op.id} as ${who}`)
      }
    })
  )

  it.live("an org administrator's API token reaches exactly what its scopes name", () =>
    Effect.gen(function* () {
      const scoped = (scopes: ReadonlyArray<string>) => walk(others, (f) => Effect.map(f.token("root", scopes), (token) => ({ token })))
      assert.deepStrictEqual(allowed((yield* scoped([])).answers), ["me.get"])
      const { operations, answers } = yield* scoped(["tenants:read"])
      assert.deepStrictEqual(allowed(answers), ["me.get", "tenants.events", "tenants.get", "tenants.list", "tenants.plan"])
      const everyScope = operations.map((op: Operation) => op.raw["x-clawfleet-access"]?.scope).filter((s: unknown) => s !== undefined)
      const all = yield* scoped([...new Set(everyScope as Array<string>)])
      for (const op of operations) assert.isBelow(all.answers.get(op.id)!, 300, op.id)
    })
  )
})
