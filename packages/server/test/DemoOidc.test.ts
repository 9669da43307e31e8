import { Clawfleet, type ClawfleetServices, Fleet, OidcSignIn, type Sessions } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { DemoOidc } from "../src/dev/DemoOidc.ts"
import { BANNER, TITLE } from "../src/dev/demoOidcPages.ts"

/**
 * The development sign-in provider on 127.0.0.1, with core's real `OidcSignIn` signing in against
 * it. The browser is plain fetch with a cookie jar: it opens the chooser page, picks a person's
 * button out of the form and posts it, as a person would without JavaScript.
 */

const CLAWFLEET = "http://127.0.0.1:3999"
const REDIRECT_URI = `${CLAWFLEET}/auth/callback`
const AFTER_LOGOUT = `${CLAWFLEET}/`

const people = [
  { id: "ada", email: "ada@example.com", displayName: "Ada Lovelace" },
  { id: "grace", email: "grace@example.com", displayName: `Grace <script>alert("hi")</script> Hopper` }
]

const signInLayer = Layer.unwrap(
  Effect.map(Effect.service(DemoOidc), (demo) =>
    OidcSignIn.layer({
      issuer: demo.issuer,
      clientId: demo.clientId,
      clientSecret: demo.clientSecret,
      redirectUri: REDIRECT_URI,
      postLogoutRedirectUri: AFTER_LOGOUT,
      allowInsecureRequests: true,
      transactionSecret: Redacted.make("shared-by-every-replica")
    })
  )
)

const withSignIn = <A, E>(self: Effect.Effect<A, E, DemoOidc | OidcSignIn | Sessions | ClawfleetServices>) =>
  Effect.provide(
    Effect.andThen(seed, self),
    Layer.fresh(
      signInLayer.pipe(
        Layer.provideMerge(Clawfleet.layerMemory),
        Layer.provideMerge(DemoOidc.layer({ people, redirectUri: REDIRECT_URI, postLogoutRedirectUri: AFTER_LOGOUT }))
      )
    )
  )

const seed = Effect.gen(function* () {
  const fleet = yield* Fleet
  for (const { id, email } of people) yield* fleet.onboardPerson({ person: { id, email, displayName: id }, tenant: false })
})

// ---- The browser ---------------------------------------------------------------------------

const makeBrowser = () => {
  const cookies = new Map<string, string>()
  const go = async (url: URL, form?: URLSearchParams) => {
    const cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join("; ")
    const res = await fetch(url, {
      redirect: "manual",
      ...(form === undefined
        ? { headers: { cookie } }
        : { method: "POST", body: form, headers: { cookie, "content-type": "application/x-www-form-urlencoded" } })
    })
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(";")[0]!
      const at = pair.indexOf("=")
      if (pair.slice(at + 1) === "" || /expires=Thu, 01 Jan 1970/i.test(line)) cookies.delete(pair.slice(0, at))
      else cookies.set(pair.slice(0, at), pair.slice(at + 1))
    }
    return res
  }
  /** Follows redirects until a page is shown, or until the browser is sent back to clawfleet. */
  const follow = async (start: URL, form?: URLSearchParams) => {
    let url = start
    let res = await go(url, form)
    for (let step = 0; step < 12; step++) {
      const location = res.headers.get("location")
      if (location === null) return { url, status: res.status, page: await res.text() }
      url = new URL(location, url)
      if (url.origin === CLAWFLEET) return { url, status: res.status, page: "" }
      res = await go(url)
    }
    throw new Error("too many redirects")
  }
  return { follow }
}

type Browser = ReturnType<typeof makeBrowser>

const fromHtml = (s: string) => s.replaceAll("&quot;", '"').replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&")

/** Begins a sign-in and opens the chooser page it leads to. */
const openChooser = Effect.fnUntraced(function* (browser: Browser) {
  const begun = yield* (yield* OidcSignIn).begin()
  const shown = yield* Effect.promise(() => browser.follow(begun.authorizationUrl))
  assert.strictEqual(shown.status, 200, shown.page.slice(0, 400))
  const action = /<form[^>]*method="post"[^>]*action="([^"]+)"/.exec(shown.page)?.[1]
  assert.isDefined(action, "the chooser has a form")
  return { ...shown, action: new URL(fromHtml(action!), shown.url), transaction: begun.transaction }
})

/** The value of the button whose accessible name (its text) names the person. */
const buttonFor = (page: string, displayName: RegExp) => {
  for (const [, value, text] of page.matchAll(/<button[^>]*value="([^"]*)"[^>]*>([^<]*(?:<(?!\/button>)[^<]*)*)<\/button>/g)) {
    if (displayName.test(fromHtml(text!))) return fromHtml(value!)
  }
  throw new Error(`no button for ${displayName}`)
}

const signInAs = Effect.fnUntraced(function* (browser: Browser, displayName: RegExp) {
  const chooser = yield* openChooser(browser)
  const person = buttonFor(chooser.page, displayName)
  const back = yield* Effect.promise(() => browser.follow(chooser.action, new URLSearchParams({ person })))
  assert.isTrue(
    back.url.href.startsWith(REDIRECT_URI),
    `sent back to clawfleet, not to ${back.url.href} (${back.status}): ${back.page.slice(-600)}`
  )
  return yield* (yield* OidcSignIn).complete({ callbackUrl: back.url, transaction: chooser.transaction })
})

describe("DemoOidc", () => {
  it.live("signs in as the person chosen, with their e-mail address", () =>
    withSignIn(
      Effect.gen(function* () {
        const done = yield* signInAs(makeBrowser(), /Ada Lovelace/)
        assert.strictEqual(done.person.id, "ada")
        assert.strictEqual(done.person.email, "ada@example.com")
        const demo = yield* DemoOidc
        assert.match(demo.issuer, /^http:\/\/127\.0\.0\.1:\d+$/)
        assert.notStrictEqual(Redacted.value(demo.clientSecret), "", "a secret is made at start")
      })
    )
  )

  it.live("asks who to be at every sign-in, even when the browser signed in before", () =>
    withSignIn(
      Effect.gen(function* () {
        const browser = makeBrowser()
        assert.strictEqual((yield* signInAs(browser, /Ada Lovelace/)).person.id, "ada")
        assert.strictEqual((yield* signInAs(browser, /Grace/)).person.id, "grace")
        assert.strictEqual((yield* signInAs(browser, /Ada Lovelace/)).person.id, "ada")
      })
    )
  )

  it.live("the page says it is for development only, lists everyone and escapes their names", () =>
    withSignIn(
      Effect.gen(function* () {
        const { page } = yield* openChooser(makeBrowser())
        assert.include(page, `<title>${TITLE}</title>`)
        assert.include(page, BANNER)
        assert.include(page, ">Continue as Ada Lovelace (ada@example.com)</button>")
        assert.include(page, "Continue as Grace &lt;script&gt;alert(&quot;hi&quot;)&lt;/script&gt; Hopper (grace@example.com)")
        assert.notInclude(page, "<script")
        assert.strictEqual(buttonFor(page, /Ada Lovelace/), "ada")
        assert.strictEqual(buttonFor(page, /Grace <script>/), "grace")
        assert.notInclude(page, `type="password"`, "nothing to type")
      })
    )
  )

  it.live("refuses a person it does not know, and the sign-in can still go on", () =>
    withSignIn(
      Effect.gen(function* () {
        const browser = makeBrowser()
        const chooser = yield* openChooser(browser)
        for (const person of ["mallory", ""]) {
          const refused = yield* Effect.promise(() => browser.follow(chooser.action, new URLSearchParams({ person })))
          assert.strictEqual(refused.status, 400)
          assert.isFalse(refused.url.href.startsWith(REDIRECT_URI), "never sent back to clawfleet")
          assert.include(refused.page, "Unknown person")
        }
        const back = yield* Effect.promise(() => browser.follow(chooser.action, new URLSearchParams({ person: "grace" })))
        const done = yield* (yield* OidcSignIn).complete({ callbackUrl: back.url, transaction: chooser.transaction })
        assert.strictEqual(done.person.id, "grace")
      })
    )
  )

  it.live("a choice posted without the browser's interaction cookie signs nobody in", () =>
    withSignIn(
      Effect.gen(function* () {
        const chooser = yield* openChooser(makeBrowser())
        const elsewhere = yield* Effect.promise(() => makeBrowser().follow(chooser.action, new URLSearchParams({ person: "ada" })))
        assert.strictEqual(elsewhere.status, 400)
        assert.isFalse(elsewhere.url.href.startsWith(REDIRECT_URI))
      })
    )
  )

  it.live("an authorization code is good for one exchange", () =>
    withSignIn(
      Effect.gen(function* () {
        const browser = makeBrowser()
        const chooser = yield* openChooser(browser)
        const back = yield* Effect.promise(() => browser.follow(chooser.action, new URLSearchParams({ person: "ada" })))
        const flow = { callbackUrl: back.url, transaction: chooser.transaction }
        assert.strictEqual((yield* (yield* OidcSignIn).complete(flow)).person.id, "ada")
        // Another replica opens the same transaction, so only the provider stands in the way.
        const replayed = yield* Effect.flatMap(Effect.service(OidcSignIn), (other) => Effect.flip(other.complete(flow))).pipe(
          Effect.provide(Layer.fresh(signInLayer.pipe(Layer.provideMerge(Clawfleet.layerMemory))))
        )
        assert.strictEqual(replayed._tag, "SignInError")
        assert.match(replayed.message, /invalid_grant/)
      })
    )
  )

  it.live("signing out at the provider takes one button and sends the browser back", () =>
    withSignIn(
      Effect.gen(function* () {
        const browser = makeBrowser()
        const done = yield* signInAs(browser, /Ada Lovelace/)
        const logoutUrl = yield* (yield* OidcSignIn).logout(done.session)
        const shown = yield* Effect.promise(() => browser.follow(logoutUrl!))
        assert.strictEqual(shown.status, 200)
        assert.include(shown.page, BANNER)
        assert.notInclude(shown.page, "<script")
        const action = /<form id="op.logoutForm"[^>]*action="([^"]+)"/.exec(shown.page)?.[1]
        const xsrf = /name="xsrf" value="([^"]+)"/.exec(shown.page)?.[1]
        assert.match(shown.page, /<button type="submit" form="op.logoutForm" name="logout" value="yes"[^>]*>Sign out<\/button>/)
        const back = yield* Effect.promise(() =>
          browser.follow(new URL(fromHtml(action!), shown.url), new URLSearchParams({ xsrf: xsrf!, logout: "yes" }))
        )
        assert.strictEqual(back.url.href, AFTER_LOGOUT)
      })
    )
  )

  it.live("shows the provider's errors on its own page, escaped", () =>
    withSignIn(
      Effect.gen(function* () {
        const url = new URL(`${(yield* DemoOidc).issuer}/auth`)
        url.search = new URLSearchParams({ client_id: "<script>x</script>", response_type: "code", scope: "openid" }).toString()
        const shown = yield* Effect.promise(() => makeBrowser().follow(url))
        assert.strictEqual(shown.status, 400)
        assert.include(shown.page, BANNER)
        assert.include(shown.page, "invalid_client")
        assert.notInclude(shown.page, "<script")
      })
    )
  )

  it.live("closing the layer closes the server", () =>
    Effect.gen(function* () {
      const issuer = yield* Effect.provide(
        Effect.map(Effect.service(DemoOidc), (demo) => demo.issuer),
        DemoOidc.layer({ people, redirectUri: REDIRECT_URI, postLogoutRedirectUri: AFTER_LOGOUT })
      )
      const after = yield* Effect.promise(() =>
        fetch(`${issuer}/.well-known/openid-configuration`).then(
          () => "answered",
          () => "refused"
        )
      )
      assert.strictEqual(after, "refused")
    })
  )
})
