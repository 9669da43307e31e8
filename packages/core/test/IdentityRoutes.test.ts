import * as http from "node:http"
import type { AddressInfo } from "node:net"
import {
  ApiTokens,
  Clawfleet,
  Fleet,
  makeIdentityRoutes,
  OidcSignIn,
  PairingLinks,
  SigningKeys,
  TenantStatus,
  Tenants,
  Tokens,
  withActor
} from "@clawfleet/core"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { CLIENT_ID, CLIENT_SECRET, loginAt, type OidcTestProvider, startOidcProvider } from "./support/oidc.ts"

// The control plane's own server, listening before the provider is configured with its callback.
let handler: http.RequestListener = (_req, res) => res.writeHead(503).end()
const server = http.createServer((req, res) => handler(req, res))
let origin: string
let oidc: OidcTestProvider

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  oidc = await startOidcProvider({
    accounts: { ada: { email: "ada@example.com", email_verified: true }, bob: { email: "bob@example.com", email_verified: true } },
    redirectUri: `${origin}/auth/callback`,
    postLogoutRedirectUri: `${origin}/`
  })
}, 10_000)
afterAll(async () => {
  await oidc.close()
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

const send = (path: string, init: { method?: string; cookie?: string; origin?: string; bearer?: string; form?: boolean } = {}) =>
  Effect.promise(async () => {
    const headers: Record<string, string> = {}
    // What an HTML form sends.
    if (init.form === true) headers["content-type"] = "application/x-www-form-urlencoded"
    if (init.cookie !== undefined) headers.cookie = init.cookie
    if (init.origin !== undefined) headers.origin = init.origin
    if (init.bearer !== undefined) headers.authorization = `Bearer ${init.bearer}`
    const res = await fetch(`${origin}${path}`, { method: init.method ?? "GET", headers, redirect: "manual" })
    const text = await res.text()
    return {
      status: res.status,
      location: res.headers.get("location"),
      cookies: res.headers.getSetCookie(),
      json: text === "" ? undefined : JSON.parse(text)
    }
  })

/** A GET as a browser makes it: the answer is a redirect or a page, not JSON. */
const page = (path: string, cookie?: string, bearer?: string) =>
  Effect.promise(async () => {
    const headers: Record<string, string> = {}
    if (cookie !== undefined) headers.cookie = cookie
    if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`
    const res = await fetch(`${origin}${path}`, { headers, redirect: "manual" })
    return {
      status: res.status,
      location: res.headers.get("location"),
      refresh: res.headers.get("refresh"),
      contentType: res.headers.get("content-type"),
      text: await res.text()
    }
  })

const cookieNamed = (cookies: ReadonlyArray<string>, name: string) =>
  cookies.map((c) => c.split(";")[0]!).find((c) => c.startsWith(`${name}=`) && c.length > name.length + 1)

describe("identity routes", () => {
  it.live("sign in over HTTP, then ask for a pairing link with the session or a scoped API token; logout ends it", () =>
    Effect.gen(function* () {
      const layer = Layer.mergeAll(
        OidcSignIn.layer({
          issuer: oidc.issuer,
          clientId: CLIENT_ID,
          clientSecret: Redacted.make(CLIENT_SECRET),
          redirectUri: `${origin}/auth/callback`,
          scopes: ["email"],
          allowInsecureRequests: true
        }),
        PairingLinks.layer,
        ApiTokens.layer
      ).pipe(
        Layer.provideMerge(Tokens.layer({ issuer: origin })),
        Layer.provideMerge(SigningKeys.layer()),
        Layer.provideMerge(Layer.fresh(Clawfleet.layerMemory))
      )
      const ctx = yield* Layer.build(layer)
      const cp = <A, E>(e: Effect.Effect<A, E, any>) => e.pipe(Effect.provide(ctx), withActor("admin@example.com")) as Effect.Effect<A, E>
      const fleet = Context.get(ctx, Fleet)
      const tenants = Context.get(ctx, Tenants)
      for (const id of ["ada", "bob"]) {
        yield* cp(fleet.onboardPerson({ person: { id, email: `${id}@example.com`, displayName: id }, tenant: { name: id } }))
        const t = yield* cp(tenants.get(id))
        yield* cp(
          tenants.writeStatus(
            id,
            t.version,
            new TenantStatus({ phase: "Ready", conditions: [], observedGeneration: 1, endpoint: `https://${id}.assistants.test` })
          )
        )
      }
      const routes = yield* cp(makeIdentityRoutes({ publicOrigin: origin, secureCookies: false, openWaitMs: 300 }))
      handler = (req, res) => {
        if (!routes(req, res)) res.writeHead(404).end()
      }

      const signInAs = (login: string) =>
        Effect.gen(function* () {
          const begun = yield* send("/auth/login?returnTo=/")
          const callback = yield* Effect.promise(() => loginAt(new URL(begun.location!), login, `${origin}/auth/callback`))
          const done = yield* send(`${callback.pathname}${callback.search}`, { cookie: cookieNamed(begun.cookies, "cf_signin")! })
          return cookieNamed(done.cookies, "cf_session")!
        })

      // Sign in: /auth/login → provider → /auth/callback → session cookie.
      const begun = yield* send("/auth/login?returnTo=/tenants/ada")
      assert.strictEqual(begun.status, 302)
      const transaction = cookieNamed(begun.cookies, "cf_signin")!
      assert.match(begun.cookies[0]!, /HttpOnly; SameSite=Lax/)
      const callback = yield* Effect.promise(() => loginAt(new URL(begun.location!), "ada", `${origin}/auth/callback`))
      const done = yield* send(`${callback.pathname}${callback.search}`, { cookie: transaction })
      assert.strictEqual(done.status, 303)
      assert.strictEqual(done.location, "/tenants/ada")
      const session = cookieNamed(done.cookies, "cf_session")!
      assert.isDefined(session)
      // The transaction is used up.
      assert.strictEqual((yield* send(`${callback.pathname}${callback.search}`, { cookie: transaction })).status, 400)

      // Pairing links: the owner gets one; others, strangers and cross-origin requests do not.
      const link = yield* send("/tenants/ada/pairing", { method: "POST", cookie: session, origin })
      assert.strictEqual(link.status, 200)
      assert.match(link.json.url, /^https:\/\/ada\.assistants\.test\/clawfleet\/pair\?token=ey/)
      assert.strictEqual((yield* send("/tenants/bob/pairing", { method: "POST", cookie: session, origin })).json.reason, "Forbidden")
      assert.strictEqual(
        (yield* send("/tenants/ada/pairing", { method: "POST", cookie: session, origin: "https://evil.test" })).status,
        403
      )
      assert.strictEqual((yield* send("/tenants/ada/pairing", { method: "POST" })).status, 401)
      assert.strictEqual((yield* send("/tenants/nobody/pairing", { method: "POST", cookie: session, origin })).status, 404)

      // Scripts: an API token with the pairing scope works, one without it does not.
      const api = Context.get(ctx, ApiTokens)
      const scoped = Redacted.value((yield* cp(api.create({ person: "ada", scopes: ["tenants:pair"], expiresInDays: 1 }))).token)
      const unscoped = Redacted.value((yield* cp(api.create({ person: "ada", scopes: ["tenants:read"], expiresInDays: 1 }))).token)
      assert.strictEqual((yield* send("/tenants/ada/pairing", { method: "POST", bearer: scoped })).status, 200)
      assert.strictEqual((yield* send("/tenants/ada/pairing", { method: "POST", bearer: unscoped })).status, 403)

      // Opening in a browser: signed in, straight on to a fresh pairing link; signed out, sign-in
      // first and back; another's assistant, a missing one, or one still starting, a page saying so.
      const opened = yield* page("/tenants/ada/open", session)
      assert.strictEqual(opened.status, 303)
      assert.match(opened.location!, /^https:\/\/ada\.assistants\.test\/clawfleet\/pair\?token=ey/)
      const signedOut = yield* page("/tenants/ada/open")
      assert.strictEqual(signedOut.status, 302)
      assert.strictEqual(signedOut.location, `/auth/login?returnTo=${encodeURIComponent("/tenants/ada/open")}`)
      // A script's token is not a browser's session: it is sent to sign in, not given a link.
      assert.strictEqual((yield* page("/tenants/ada/open", undefined, scoped)).status, 302)
      const others = yield* page("/tenants/bob/open", session)
      assert.strictEqual(others.status, 403)
      assert.match(others.contentType!, /^text\/html/)
      assert.strictEqual((yield* page("/tenants/nobody/open", session)).status, 404)
      const bob = yield* cp(tenants.get("bob"))
      yield* cp(tenants.writeStatus("bob", bob.version, new TenantStatus({ phase: "Provisioning", conditions: [], observedGeneration: 0 })))
      const bobsSession = yield* signInAs("bob")
      const starting = yield* page("/tenants/bob/open", bobsSession)
      assert.strictEqual(starting.status, 503)
      assert.strictEqual(starting.refresh, "3", "the page retries by itself while the assistant starts")
      assert.include(starting.text, "is starting")

      const jwks = yield* send("/.well-known/jwks.json")
      assert.strictEqual(jwks.json.keys[0].crv, "Ed25519")

      // Logout ends the session: a script gets JSON, a page's sign-out form is sent on.
      const out = yield* send("/auth/logout", { method: "POST", cookie: session, origin })
      assert.strictEqual(out.status, 200)
      assert.include(out.cookies.join(), "cf_session=;")
      assert.strictEqual((yield* send("/tenants/ada/pairing", { method: "POST", cookie: session, origin })).status, 401)
      const bobsForm = yield* send("/auth/logout", { method: "POST", cookie: bobsSession, origin, form: true })
      assert.strictEqual(bobsForm.status, 303, "a browser is redirected, not shown JSON")
      assert.isNotNull(bobsForm.location)
      assert.isTrue(bobsForm.location === "/" || bobsForm.location.startsWith("http"), bobsForm.location)
      assert.include(bobsForm.cookies.join(), "cf_session=;")
      assert.strictEqual((yield* send("/tenants/bob/pairing", { method: "POST", cookie: bobsSession, origin })).status, 401)
      const signedOutForm = yield* send("/auth/logout", { method: "POST", origin, form: true })
      assert.deepStrictEqual([signedOutForm.status, signedOutForm.location], [303, "/"])
    }).pipe(Effect.scoped)
  )
})
