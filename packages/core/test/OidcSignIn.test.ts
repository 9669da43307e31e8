import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { Audit } from "../src/Audit.ts"
import * as Clawfleet from "../src/Clawfleet.ts"
import { Fleet } from "../src/Fleet.ts"
import { OidcSignIn, type OidcSignInOptions } from "../src/identity/OidcSignIn.ts"
import { SignInError } from "../src/identity/oidc/SignInError.ts"
import { safeReturnTo } from "../src/identity/oidc/transaction.ts"
import { Sessions } from "../src/identity/Sessions.ts"
import { loginAt, type OidcTestProvider, startOidcProvider } from "./support/oidc.ts"

/**
 * Sign-in against a real `oidc-provider` on 127.0.0.1, its development login and consent pages
 * driven with plain HTTP. The provider knows anyone; clawfleet lets in only people onboarded
 * with the same verified e-mail address. The store is fresh per test and the TestClock starts
 * at 0; the provider keeps real time.
 */

const REDIRECT_URI = "http://127.0.0.1:3999/auth/callback"
const AFTER_LOGOUT = "http://127.0.0.1:3999/"

/** What the provider says about each login. */
const accounts: Record<string, Record<string, unknown>> = {
  ada: { email: "Ada@Example.com", email_verified: true, groups: ["eng-platform", "eng", "everyone"] },
  /** Moved between groups by the test about moving. */
  cy: { email: "cy@example.com", email_verified: true, groups: [] as Array<string> },
  bob: { email: "bob@example.com", email_verified: true, groups: ["everyone"] },
  dan: { email: "dan@example.com", email_verified: true },
  uma: { email: "uma@example.com", email_verified: false },
  zed: { email: "zed@example.com", email_verified: true }
}

let provider: OidcTestProvider
let issuer: string

beforeAll(async () => {
  provider = await startOidcProvider({ accounts, redirectUri: REDIRECT_URI, postLogoutRedirectUri: AFTER_LOGOUT })
  issuer = provider.issuer
}, 10_000)

afterAll(() => provider.close())

const atProvider = (authorizationUrl: URL, login: string) => loginAt(authorizationUrl, login, REDIRECT_URI)

// ---- clawfleet -----------------------------------------------------------------------------

const SECRET = Redacted.make("a-secret-only-the-test-knows")

const optionsFor = (overrides: Partial<OidcSignInOptions> = {}): OidcSignInOptions => ({
  issuer,
  clientId: "clawfleet",
  clientSecret: SECRET,
  redirectUri: REDIRECT_URI,
  postLogoutRedirectUri: AFTER_LOGOUT,
  scopes: ["email", "groups"],
  groups: { teams: { "eng-platform": "platform", "eng-infra": "infra" }, departments: { eng: "eng" } },
  allowInsecureRequests: true,
  ...overrides
})

type Services = OidcSignIn | Sessions | Clawfleet.Services

const withSignIn = <A, E>(self: Effect.Effect<A, E, Services>, overrides?: Partial<OidcSignInOptions>) =>
  Effect.suspend(() =>
    self.pipe(Effect.provide(Layer.fresh(OidcSignIn.layer(optionsFor(overrides)).pipe(Layer.provideMerge(Clawfleet.layerMemory)))))
  )

/** eng > platform, infra; ada, bob, cy, uma, and dan (offboarded). zed is nobody here. */
const seed = Effect.gen(function* () {
  const fleet = yield* Fleet
  yield* fleet.createDepartment({ id: "eng", displayName: "Engineering" })
  yield* fleet.createTeam({ id: "platform", displayName: "Platform", department: "eng" })
  yield* fleet.createTeam({ id: "infra", displayName: "Infra", department: "eng" })
  for (const id of ["ada", "bob", "cy", "dan", "uma"]) {
    yield* fleet.onboardPerson({ person: { id, email: `${id}@example.com`, displayName: id }, tenant: false })
  }
  yield* fleet.offboardPerson("dan")
  return yield* OidcSignIn
})

/** Begins, plays `login` at the provider, and hands back what `complete` would get. */
const atProviderAs = Effect.fnUntraced(function* (login: string, options: { returnTo?: string; edit?: (url: URL) => void } = {}) {
  const begun = yield* (yield* OidcSignIn).begin({ returnTo: options.returnTo })
  options.edit?.(begun.authorizationUrl)
  const callbackUrl = yield* Effect.promise(() => atProvider(begun.authorizationUrl, login))
  return { callbackUrl, transaction: begun.transaction, begun }
})

const signIn = Effect.fnUntraced(function* (login: string, returnTo?: string) {
  const { callbackUrl, transaction } = yield* atProviderAs(login, returnTo === undefined ? {} : { returnTo })
  return yield* (yield* OidcSignIn).complete({ callbackUrl, transaction })
})

const refusal = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.flip(self), (e) => {
    if (!(e instanceof SignInError)) throw new Error(`expected a SignInError, got ${String(e)}`)
    return e
  })

const peopleOf = (sessions: Sessions["Service"], token: Redacted.Redacted<string>) => Effect.map(sessions.verify(token), (p) => p?.id)

describe("OidcSignIn", () => {
  it.effect("signs an onboarded person in, places them by their groups and audits it", () =>
    withSignIn(
      Effect.gen(function* () {
        yield* seed
        const done = yield* signIn("ada", "/tenants/ada?tab=usage")
        assert.strictEqual(done.person.id, "ada")
        assert.strictEqual(done.returnTo, "/tenants/ada?tab=usage")
        assert.strictEqual(done.person.team, "platform")
        assert.strictEqual(done.person.department, "eng")
        assert.deepStrictEqual(done.person.groups, ["eng-platform", "eng", "everyone"])
        assert.strictEqual((yield* (yield* Fleet).getPerson("ada")).team, "platform")
        assert.strictEqual(yield* peopleOf(yield* Sessions, done.session), "ada")
        const audit = yield* Audit
        const events = yield* audit.list({ limit: 1000 })
        assert.deepStrictEqual(
          events.filter((e) => e.actor === `oidc:${issuer}`).map((e) => [e.action, e.target.kind, e.target.id]),
          [
            ["person.update", "person", "ada"],
            ["session.create", "session", events.at(-1)!.target.id]
          ]
        )
        // Already placed: signing in again writes the new session and nothing else.
        yield* signIn("ada")
        assert.deepStrictEqual(
          (yield* audit.list({ afterSeq: events.at(-1)!.seq })).map((e) => e.action),
          ["session.create"]
        )
      })
    )
  )

  it.effect("moves people as their groups change, and leaves placement the mapping does not own", () =>
    withSignIn(
      Effect.gen(function* () {
        yield* seed
        const fleet = yield* Fleet
        accounts.cy!.groups = ["eng-infra", "eng-platform"]
        assert.strictEqual((yield* signIn("cy")).person.team, "platform", "the first group listed in the mapping wins")
        accounts.cy!.groups = ["eng-infra"]
        assert.strictEqual((yield* signIn("cy")).person.team, "infra")
        accounts.cy!.groups = ["everyone"]
        const left = (yield* signIn("cy")).person
        assert.isUndefined(left.team, "a team the mapping handed out goes with the group")
        assert.deepStrictEqual(left.groups, ["everyone"])
        yield* fleet.createTeam({ id: "sre", displayName: "SRE", department: "eng" })
        yield* fleet.updatePerson("cy", { team: "sre" })
        assert.strictEqual((yield* signIn("cy")).person.team, "sre", "a team set by hand stays")
      })
    )
  )

  it.effect("a mapping to a team nobody created does not lock people out", () =>
    withSignIn(
      Effect.gen(function* () {
        yield* seed
        const done = yield* signIn("bob")
        assert.strictEqual(done.person.id, "bob")
        assert.isUndefined(done.person.team)
      }),
      { groups: { teams: { everyone: "ghost" } } }
    )
  )

  it.effect("refuses a callback that answers another sign-in (state mismatch)", () =>
    withSignIn(
      Effect.gen(function* () {
        const oidc = yield* seed
        const mine = yield* atProviderAs("ada")
        const other = yield* oidc.begin()
        const mismatch = yield* refusal(oidc.complete({ callbackUrl: mine.callbackUrl, transaction: other.transaction }))
        assert.strictEqual(mismatch.reason, "StateMismatch")
        const stripped = new URL(mine.callbackUrl)
        stripped.searchParams.delete("state")
        assert.strictEqual(
          (yield* refusal(oidc.complete({ callbackUrl: stripped, transaction: mine.transaction }))).reason,
          "StateMismatch"
        )
        // Neither attempt used up the real one.
        assert.strictEqual((yield* oidc.complete(mine)).person.id, "ada")
      })
    )
  )

  it.effect("refuses a replayed, forged, foreign or expired transaction, and an ID token for another nonce", () =>
    Effect.gen(function* () {
      const sealed = { transactionSecret: Redacted.make("shared-by-every-replica") }
      const { flow: used, late } = yield* withSignIn(
        Effect.gen(function* () {
          const oidc = yield* seed
          const flow = yield* atProviderAs("ada")
          yield* oidc.complete(flow)
          assert.strictEqual((yield* refusal(oidc.complete(flow))).reason, "InvalidTransaction", "replayed on the same server")

          const forged = flow.transaction.slice(0, -2) + (flow.transaction.endsWith("A") ? "BB" : "AA")
          assert.strictEqual((yield* refusal(oidc.complete({ ...flow, transaction: forged }))).reason, "InvalidTransaction")
          assert.strictEqual((yield* refusal(oidc.complete({ ...flow, transaction: "t1.short" }))).reason, "InvalidTransaction")

          // The provider signs whatever nonce it was sent; ours is in the sealed transaction.
          const swapped = yield* atProviderAs("ada", { edit: (url) => url.searchParams.set("nonce", "not-the-nonce-we-sealed") })
          const nonce = yield* refusal(oidc.complete(swapped))
          assert.strictEqual(nonce.reason, "ProviderError")
          assert.match(nonce.message, /nonce/)
          return { flow, late: yield* atProviderAs("ada") }
        }),
        sealed
      )
      // Another replica opens the transaction but the provider will not exchange a code twice.
      const elsewhere = yield* withSignIn(
        Effect.flatMap(seed, (oidc) => refusal(oidc.complete(used))),
        sealed
      )
      assert.strictEqual(elsewhere.reason, "ProviderError")
      assert.match(elsewhere.message, /invalid_grant/)
      // A transaction sealed for another client configuration does not open.
      const foreign = yield* withSignIn(
        Effect.flatMap(seed, (oidc) => refusal(oidc.complete(used))),
        { ...sealed, redirectUri: "http://127.0.0.1:3999/other/callback" }
      )
      assert.strictEqual(foreign.reason, "InvalidTransaction")
      // Ten minutes is all a browser gets, on any replica.
      yield* TestClock.adjust("11 minutes")
      const expired = yield* withSignIn(
        Effect.flatMap(seed, (oidc) => refusal(oidc.complete(late))),
        sealed
      )
      assert.strictEqual(expired.reason, "Expired")
    })
  )

  it.effect("asks only for S256 PKCE, and the provider refuses plain or none", () =>
    withSignIn(
      Effect.gen(function* () {
        const oidc = yield* seed
        const challenges = new Set<string>()
        for (let i = 0; i < 3; i++) {
          const { authorizationUrl, transaction } = yield* oidc.begin()
          const q = authorizationUrl.searchParams
          assert.strictEqual(q.get("code_challenge_method"), "S256")
          assert.match(q.get("code_challenge")!, /^[A-Za-z0-9_-]{43}$/)
          assert.strictEqual(q.get("response_type"), "code")
          assert.isNull(q.get("code_verifier"))
          assert.notInclude(transaction, q.get("state")!, "the transaction is sealed, not merely encoded")
          challenges.add(q.get("code_challenge")!)
        }
        assert.strictEqual(challenges.size, 3)

        const plain = yield* atProviderAs("ada", {
          edit: (url) => {
            url.searchParams.set("code_challenge_method", "plain")
            url.searchParams.set("code_challenge", "a".repeat(43))
          }
        })
        assert.strictEqual(plain.callbackUrl.searchParams.get("error"), "invalid_request")
        assert.match(plain.callbackUrl.searchParams.get("error_description")!, /code_challenge_method/)
        const refused = yield* refusal(oidc.complete(plain))
        assert.strictEqual(refused.reason, "ProviderError")
        assert.match(refused.message, /invalid_request/)

        const none = yield* atProviderAs("ada", {
          edit: (url) => {
            url.searchParams.delete("code_challenge_method")
            url.searchParams.delete("code_challenge")
          }
        })
        assert.strictEqual(none.callbackUrl.searchParams.get("error"), "invalid_request")
      })
    )
  )

  it.effect("never sends the browser off our origin after sign-in", () =>
    withSignIn(
      Effect.gen(function* () {
        yield* seed
        assert.strictEqual((yield* signIn("ada", "https://evil.example/phish")).returnTo, "/")
        assert.strictEqual((yield* signIn("ada", "//evil.example/phish")).returnTo, "/")
        for (const bad of [
          "/\\evil.example",
          "/\t/evil.example",
          "/.//evil.example",
          "/a/..//evil.example",
          "javascript:alert(1)",
          "evil.example",
          "",
          "http:/evil.example"
        ]) {
          assert.strictEqual(safeReturnTo(bad), "/", JSON.stringify(bad))
        }
        assert.strictEqual(safeReturnTo(undefined), "/")
        assert.strictEqual(safeReturnTo("/a/../b?x=1#top"), "/b?x=1#top")
      })
    )
  )

  it.effect("lets in only onboarded, enabled people with a verified e-mail address", () =>
    withSignIn(
      Effect.gen(function* () {
        yield* seed
        assert.strictEqual((yield* refusal(signIn("zed"))).reason, "NotOnboarded")
        assert.strictEqual((yield* refusal(signIn("dan"))).reason, "Disabled")
        assert.strictEqual((yield* refusal(signIn("uma"))).reason, "UnverifiedEmail")
        const events = yield* (yield* Audit).list({ limit: 1000 })
        assert.isFalse(
          events.some((e) => e.action === "session.create"),
          "a refused sign-in leaves no session"
        )
      })
    )
  )

  it.effect("accepts unverified e-mail addresses only when told to", () =>
    withSignIn(
      Effect.map(
        Effect.flatMap(seed, () => signIn("uma")),
        (done) => assert.strictEqual(done.person.id, "uma")
      ),
      { allowUnverifiedEmail: true }
    )
  )

  it.effect("a session dies at once when its person is offboarded", () =>
    withSignIn(
      Effect.gen(function* () {
        yield* seed
        const sessions = yield* Sessions
        const done = yield* signIn("ada")
        assert.strictEqual(yield* peopleOf(sessions, done.session), "ada")
        yield* (yield* Fleet).offboardPerson("ada")
        assert.isUndefined(yield* sessions.verify(done.session))
        assert.strictEqual((yield* refusal(signIn("ada"))).reason, "Disabled")
      })
    )
  )

  it.effect("sessions from sign-in time out like any other", () =>
    withSignIn(
      Effect.gen(function* () {
        yield* seed
        const sessions = yield* Sessions
        const done = yield* signIn("ada")
        yield* TestClock.adjust("9 minutes")
        assert.strictEqual(yield* peopleOf(sessions, done.session), "ada")
        yield* TestClock.adjust("10 minutes")
        assert.isUndefined(yield* sessions.verify(done.session))
      }),
      { sessions: { idleMinutes: 10, absoluteHours: 1 } }
    )
  )

  it.effect("logout ends the session and points at the provider's end-session endpoint", () =>
    withSignIn(
      Effect.gen(function* () {
        const oidc = yield* seed
        const sessions = yield* Sessions
        const done = yield* signIn("ada")
        const other = yield* signIn("ada")
        const url = yield* oidc.logout(done.session)
        assert.isUndefined(yield* sessions.verify(done.session))
        assert.strictEqual(yield* peopleOf(sessions, other.session), "ada", "only the session that logged out")
        assert.strictEqual(`${url?.origin}${url?.pathname}`, `${issuer}/session/end`)
        assert.strictEqual(url?.searchParams.get("client_id"), "clawfleet")
        assert.strictEqual(url?.searchParams.get("post_logout_redirect_uri"), AFTER_LOGOUT)
        const page = yield* Effect.promise(() => fetch(url!, { redirect: "manual" }))
        assert.strictEqual(page.status, 200, "the provider accepts it")
      })
    )
  )

  it.effect("an unreachable provider is a retryable refusal; plain HTTP is for loopback only", () =>
    Effect.gen(function* () {
      const down = yield* withSignIn(
        Effect.gen(function* () {
          return yield* refusal((yield* OidcSignIn).begin())
        }),
        { issuer: "http://127.0.0.1:9" }
      )
      assert.strictEqual(down.reason, "Unavailable")
      assert.isTrue(down.isRetryable)
      const exit = yield* Effect.exit(withSignIn(Effect.void, { issuer: "http://idp.example.com" }))
      assert.isTrue(Exit.isFailure(exit) && /must be https/.test(Cause.pretty(exit.cause)))
    })
  )
})
