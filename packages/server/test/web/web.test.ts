import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { EVIL_NAME, makeWebFixture } from "./support.ts"

const rows = (text: string, attribute: string) => [...text.matchAll(new RegExp(`<tr ${attribute}="([^"]+)"`, "g"))].map((m) => m[1]).sort()

describe("web pages", () => {
  it.live("every page carries a strict CSP, DENY framing and no-store; other paths are not ours", () =>
    Effect.gen(function* () {
      const f = yield* makeWebFixture
      for (const [path, as] of [
        ["/", undefined],
        ["/", "mia"],
        ["/admin/people", "root"],
        ["/admin/people", "mia"],
        ["/admin/tenants", undefined]
      ] as const) {
        const res = yield* f.get(path, as)
        const csp = res.headers.get("content-security-policy") ?? ""
        assert.include(csp, "default-src 'none'", path)
        assert.include(csp, "form-action 'self'", path)
        assert.include(csp, "frame-ancestors 'none'", path)
        assert.notInclude(csp, "script-src", path)
        assert.strictEqual(res.headers.get("x-frame-options"), "DENY", path)
        assert.strictEqual(res.headers.get("cache-control"), "no-store", path)
        assert.strictEqual(res.headers.get("content-type"), "text/html; charset=utf-8", path)
        assert.notInclude(res.text, "<script", path)
      }
      assert.strictEqual((yield* f.get("/api/v1/people", "root")).status, 404, "answered false: not a page")
      assert.strictEqual((yield* f.get("/admin/nothing", "root")).status, 404)
      const post = yield* Effect.promise(() => fetch(`${f.origin}/admin/people`, { method: "POST" }))
      assert.strictEqual(post.status, 405)
      assert.strictEqual(post.headers.get("allow"), "GET, HEAD")
    })
  )

  it.live("signed out: a sign-in link back to where the person was going", () =>
    Effect.gen(function* () {
      const f = yield* makeWebFixture
      const home = yield* f.get("/")
      assert.strictEqual(home.status, 200)
      assert.include(home.text, `href="/auth/login?returnTo=%2F"`)
      const admin = yield* f.get("/admin/explain?person=mia")
      assert.strictEqual(admin.status, 401)
      assert.include(admin.text, `href="/auth/login?returnTo=%2Fadmin%2Fexplain"`)
      const stale = yield* Effect.promise(() => fetch(`${f.origin}/`, { headers: { cookie: "cf_session=cfs_nope" } }))
      assert.include(yield* Effect.promise(() => stale.text()), "Sign in")
    })
  )

  it.live("home: my assistant, its phase, the first unmet condition, an Open link, this month's usage and Sign out", () =>
    Effect.gen(function* () {
      const f = yield* makeWebFixture
      const res = yield* f.get("/", "mia")
      assert.strictEqual(res.status, 200)
      assert.include(res.text, `<section class="tenant" data-tenant="mia">`)
      assert.include(res.text, `<span class="phase Provisioning">Provisioning</span>`)
      // The first condition that is not True, escaped; the later one is not shown.
      assert.include(res.text, "NetworkReady: waiting for the &lt;egress&gt; policy")
      assert.notInclude(res.text, "not started")
      assert.include(res.text, `<a class="open" href="/tenants/mia/open">Open mia</a>`)
      // Three settled requests of 1,234 tokens and $1.25 each, against 100,000 tokens and $25.
      assert.include(res.text, `<dd data-usage="requests">3</dd>`)
      assert.include(res.text, `<dd data-usage="tokens">3,702 of 100,000</dd>`)
      assert.include(res.text, `<dd data-usage="spend">$3.75 of $25.00</dd>`)
      assert.match(res.text, /<form method="post" action="\/auth\/logout">[\s\S]*<button type="submit">Sign out<\/button><\/form>/)
      assert.notInclude(res.text, `href="/admin/people"`, "a member is offered no admin pages")

      const otto = yield* f.get("/", "otto")
      assert.include(otto.text, `<dd data-usage="requests">0</dd>`)
      assert.include(otto.text, "(no monthly limit)")
      assert.include((yield* f.get("/", "nemo")).text, "You have no assistant yet.")
      assert.include((yield* f.get("/", "root")).text, `href="/admin/people"`)
    })
  )

  it.live("a display name of markup is text everywhere it appears", () =>
    Effect.gen(function* () {
      const f = yield* makeWebFixture
      const escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Eve&#39;"
      const home = yield* f.get("/", "eve")
      assert.include(home.text, `<h1>Hello, ${escaped}</h1>`)
      const people = yield* f.get("/admin/people", "root")
      assert.include(people.text, `<td>${escaped}</td>`)
      for (const text of [home.text, people.text]) {
        assert.notInclude(text, EVIL_NAME)
        assert.notInclude(text, "<script")
      }
      // Query values echoed into the form are escaped too.
      const explain = yield* f.get(`/admin/explain?person=${encodeURIComponent(`"><script>x</script>`)}&kind=model&name=a`, "root")
      assert.include(explain.text, `value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"`)
      assert.notInclude(explain.text, "<script")
    })
  )

  it.live("members get 403 on every admin page; a team admin sees only their teams", () =>
    Effect.gen(function* () {
      const f = yield* makeWebFixture
      for (const path of ["/admin", "/admin/people", "/admin/tenants", "/admin/explain", "/admin/explain?person=mia&kind=model&name=x"]) {
        const res = yield* f.get(path, "mia")
        assert.strictEqual(res.status, 403, path)
        assert.include(res.text, "Forbidden", path)
        assert.strictEqual(res.headers.get("x-frame-options"), "DENY")
      }

      const root = yield* f.get("/admin/people", "root")
      assert.deepStrictEqual(rows(root.text, "data-person"), ["eve", "mia", "nemo", "olga", "otto", "root", "tam"])
      assert.deepStrictEqual(rows((yield* f.get("/admin/tenants", "olga")).text, "data-tenant"), ["mia", "olga", "otto", "root", "tam"])

      const people = yield* f.get("/admin/people", "tam")
      assert.strictEqual(people.status, 200)
      assert.deepStrictEqual(rows(people.text, "data-person"), ["eve", "mia", "tam"])
      assert.include(people.text, "Showing the teams you administer: platform.")
      const tenants = yield* f.get("/admin/tenants", "tam")
      assert.deepStrictEqual(rows(tenants.text, "data-tenant"), ["mia", "tam"])
      assert.include(tenants.text, "NetworkReady: waiting for the &lt;egress&gt; policy")

      assert.strictEqual((yield* f.get("/admin/explain?person=mia&kind=model&name=gpt-4.1", "tam")).status, 200)
      // Otto is in data; a person who does not exist is refused the same way (no probing).
      assert.strictEqual((yield* f.get("/admin/explain?person=otto&kind=model&name=gpt-4.1", "tam")).status, 403)
      assert.strictEqual((yield* f.get("/admin/explain?person=ghost&kind=model&name=gpt-4.1", "tam")).status, 403)
    })
  )

  it.live("explain: the decision and the grants behind it", () =>
    Effect.gen(function* () {
      const f = yield* makeWebFixture
      const form = yield* f.get("/admin/explain", "root")
      assert.strictEqual(form.status, 200)
      assert.include(form.text, `<form method="get" action="/admin/explain">`)
      assert.notInclude(form.text, `id="decision"`)

      const allowed = yield* f.get("/admin/explain?person=otto&kind=model&name=gpt-4.1", "root")
      assert.include(allowed.text, `data-decision="allowed"`)
      assert.include(allowed.text, "<td>allow</td><td>model:*</td><td>org</td><td>active</td>")
      assert.include(allowed.text, `<option value="model" selected>model</option>`)

      const denied = yield* f.get("/admin/explain?person=mia&kind=model&name=gpt-danger", "root")
      assert.include(denied.text, `data-decision="denied-by-grant"`)
      assert.include(denied.text, "(deny on team:platform)")
      assert.include(denied.text, "<td>deny</td><td>model:gpt-danger</td><td>team:platform</td><td>active</td>")
      assert.include(denied.text, "<td>not &lt;yet&gt;</td>")
      assert.include(denied.text, "team:platform")

      assert.include((yield* f.get("/admin/explain?person=ghost&kind=model&name=gpt-4.1", "root")).text, `data-decision="unknown-subject"`)
      assert.strictEqual((yield* f.get("/admin/explain?person=mia&kind=planet&name=x", "root")).status, 400)
      const bad = yield* f.get("/admin/explain?person=mia&kind=skill&name=*.nope", "root")
      assert.strictEqual(bad.status, 400)
      assert.include(bad.text, "egress only")
    })
  )

  it.live("a store that does not answer is a 503 page, not a crash", () =>
    Effect.gen(function* () {
      const f = yield* makeWebFixture
      f.api.storeDown(true)
      const res = yield* f.get("/", "mia")
      assert.strictEqual(res.status, 503)
      assert.include(res.text, "cannot reach its store")
      assert.strictEqual(res.headers.get("cache-control"), "no-store")
      f.api.storeDown(["tenants"])
      assert.strictEqual((yield* f.get("/admin/tenants", "root")).status, 503)
    })
  )
})
