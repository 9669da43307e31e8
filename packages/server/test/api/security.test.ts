import { ApiTokens } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Schema } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { Roles } from "../../src/api/Roles.ts"
import { Authorization, ProblemResponses } from "../../src/api/Security.ts"
import { AuthorizationLive, ProblemResponsesLive } from "../../src/api/SecurityLive.ts"
import { isProblem } from "./operations.ts"
import { makeFixture, ROLES } from "./support.ts"

describe("authentication and authorization", () => {
  it.live("an API token acts as its person, narrowed to its scopes", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const read = yield* f.token("mia", ["tenants:read"])
      assert.strictEqual((yield* f.request("GET", "/api/v1/tenants/mia", { token: read })).status, 200)
      const refused = yield* f.request("POST", "/api/v1/tenants/mia/suspend", { token: read })
      assert.strictEqual(refused.status, 403)
      assert.strictEqual(refused.json.detail, "the API token lacks the scope tenants:write")
      const write = yield* f.token("mia", ["tenants:write"])
      assert.strictEqual((yield* f.request("POST", "/api/v1/tenants/mia/suspend", { token: write })).status, 200)
      // A scope never lifts the owner's role: a member's people:write token creates nobody.
      const people = yield* f.token("mia", ["people:write", "people:read"])
      const create = yield* f.request("POST", "/api/v1/people", {
        token: people,
        body: { person: { id: "z", email: "z@example.com", displayName: "Z", team: "platform" } }
      })
      assert.strictEqual(create.status, 403)
      assert.strictEqual(create.json.detail, "a member may not call people.create")
    }).pipe(Effect.scoped)
  )

  it.live("a revoked token, a disabled person and a bad bearer answer 401; a bearer beats the cookie", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const token = yield* f.token("otto", ["tenants:read"])
      const tokens = Context.get(f.context, ApiTokens)
      const [record] = yield* f.run(tokens.list("otto"))
      yield* f.run(tokens.revoke(record!.id))
      const revoked = yield* f.request("GET", "/api/v1/me", { token })
      assert.strictEqual(revoked.status, 401)
      assert.isTrue(isProblem(revoked))
      // Offboarded: their session and tokens stop working at once.
      const ottos = yield* f.token("otto", [])
      yield* f.request("POST", "/api/v1/people/otto/offboard", { as: "root" })
      assert.strictEqual((yield* f.request("GET", "/api/v1/me", { as: "otto" })).status, 401)
      assert.strictEqual((yield* f.request("GET", "/api/v1/me", { token: ottos })).status, 401)
      // A bad token is not rescued by a good cookie.
      const both = yield* f.request("GET", "/api/v1/me", { as: "root", token: "cft_wrong" })
      assert.strictEqual(both.status, 401)
      const notOurs = yield* f.request("GET", "/api/v1/me", { headers: { authorization: "Bearer eyJhbGciOi.x.y" } })
      assert.strictEqual(notOurs.status, 401)
      assert.match(notOurs.json.detail, /cft_/)
    }).pipe(Effect.scoped)
  )

  it.live("with a public origin, a change made with the session cookie must come from it", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture({ publicOrigin: "https://clawfleet.example.com/" })
      const suspend = (headers: Record<string, string>, auth: { as?: "mia"; token?: string }) =>
        f.request("POST", "/api/v1/tenants/mia/suspend", { ...auth, headers })
      const evil = { origin: "https://evil.example" }
      const refused = yield* suspend(evil, { as: "mia" })
      assert.strictEqual(refused.status, 403)
      assert.match(refused.json.detail, /cross-origin/)
      assert.strictEqual(
        (yield* f.request("GET", "/api/v1/tenants/mia", { as: "mia", headers: evil })).status,
        200,
        "reads are not changes"
      )
      assert.strictEqual((yield* suspend({ origin: "https://clawfleet.example.com" }, { as: "mia" })).status, 200)
      assert.strictEqual((yield* suspend({}, { as: "mia" })).status, 200, "no Origin: not a browser's cross-site request")
      assert.strictEqual((yield* suspend(evil, { token: yield* f.token("mia", ["tenants:write"]) })).status, 200)
    }).pipe(Effect.scoped)
  )

  it.live("a store that cannot be reached answers 503 with Retry-After, in authentication and in handlers", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      f.storeDown(true)
      for (const path of ["/api/v1/me", "/api/v1/tenants/mia"]) {
        const r = yield* f.request("GET", path, { as: "root" })
        assert.strictEqual(r.status, 503, path)
        assert.strictEqual(r.headers.get("retry-after"), "1")
        assert.isTrue(isProblem(r))
      }
      assert.strictEqual((yield* f.request("GET", "/api/v1/me", { token: "cft_whatever" })).status, 401, "a malformed token needs no store")
      f.storeDown(["tenants"])
      for (const [method, path] of [
        ["GET", "/api/v1/tenants/mia"],
        ["GET", "/api/v1/tenants"],
        ["POST", "/api/v1/tenants/mia/suspend"],
        ["GET", "/api/v1/me"]
      ] as const) {
        const r = yield* f.request(method, path, { as: "root" })
        assert.strictEqual(r.status, 503, `${method} ${path}`)
        assert.strictEqual(r.headers.get("retry-after"), "1")
        assert.strictEqual(r.json.type, "urn:clawfleet:problem:unavailable")
      }
      f.storeDown(false)
      assert.strictEqual((yield* f.request("GET", "/api/v1/tenants/mia", { as: "root" })).status, 200)
    }).pipe(Effect.scoped)
  )

  it.live("an operation that declares no policy is refused to everybody, org administrators included", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      class Probe extends HttpApiGroup.make("probe").add(HttpApiEndpoint.get("forgotten", "/probe", { success: Schema.String })) {}
      const ProbeApi = HttpApi.make("probe").add(Probe).middleware(Authorization).middleware(ProblemResponses)
      const routes = HttpApiBuilder.layer(ProbeApi).pipe(
        Layer.provide(HttpApiBuilder.group(ProbeApi, "probe", (h) => Effect.succeed(h.handle("forgotten", () => Effect.succeed("open"))))),
        Layer.provide([AuthorizationLive(), ProblemResponsesLive]),
        Layer.provide(Roles.layer(ROLES)),
        Layer.provide(Layer.succeedContext(f.context)),
        Layer.provide(HttpServer.layerServices)
      )
      const { handler, dispose } = HttpRouter.toWebHandler(routes, { disableLogger: true })
      const response = yield* Effect.promise(() =>
        handler(new Request("http://probe/probe", { headers: { cookie: `cf_session=${f.cookie("root")}` } }))
      )
      const body = (yield* Effect.promise(() => response.json())) as { detail: string }
      yield* Effect.promise(dispose)
      assert.strictEqual(response.status, 403)
      assert.strictEqual(body.detail, "probe.forgotten declares no access policy, so nobody may call it")
    }).pipe(Effect.scoped)
  )
})
