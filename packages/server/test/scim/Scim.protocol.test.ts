import { ApiTokens, Fleet, Tenants } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Redacted } from "effect"
import { ENTERPRISE, GROUP, PATCH_OP, startScim, USER } from "./support.ts"

const ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

const user = (userName: string, extra: Record<string, unknown> = {}) => ({ schemas: [USER], userName, active: true, ...extra })

describe("SCIM protocol", () => {
  it.live("discovery: ServiceProviderConfig, ResourceTypes and Schemas", () =>
    Effect.gen(function* () {
      const { request, origin } = yield* startScim()
      const spc = yield* request("GET", "/scim/v2/ServiceProviderConfig")
      assert.strictEqual(spc.status, 200)
      assert.strictEqual(spc.headers.get("content-type"), "application/scim+json")
      assert.deepStrictEqual(spc.json.schemas, ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
      assert.deepInclude(spc.json, {
        patch: { supported: true },
        bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
        filter: { supported: true, maxResults: 1000 },
        changePassword: { supported: false },
        sort: { supported: false },
        etag: { supported: true }
      })
      assert.strictEqual(spc.json.authenticationSchemes[0].type, "oauthbearertoken")
      assert.strictEqual(spc.json.meta.location, `${origin}/scim/v2/ServiceProviderConfig`)

      const types = yield* request("GET", "/scim/v2/ResourceTypes")
      assert.strictEqual(types.json.totalResults, 2)
      const userType = yield* request("GET", "/scim/v2/ResourceTypes/User")
      assert.deepInclude(userType.json, { id: "User", endpoint: "/Users", schema: USER })
      assert.deepStrictEqual(userType.json.schemaExtensions, [{ schema: ENTERPRISE, required: false }])

      const schemas = yield* request("GET", "/scim/v2/Schemas")
      assert.deepStrictEqual(
        schemas.json.Resources.map((s: { id: string }) => s.id),
        [USER, GROUP, ENTERPRISE]
      )
      const userSchema = yield* request("GET", `/scim/v2/Schemas/${USER}`)
      const userName = userSchema.json.attributes.find((a: { name: string }) => a.name === "userName")
      assert.deepInclude(userName, { type: "string", required: true, uniqueness: "server", caseExact: false })
      assert.strictEqual((yield* request("GET", "/scim/v2/Schemas/urn:nope")).status, 404)
      assert.strictEqual((yield* request("POST", "/scim/v2/ServiceProviderConfig", {})).status, 405)
      assert.strictEqual((yield* request("POST", "/scim/v2/Bulk", {})).status, 501)
    }).pipe(Effect.scoped)
  )

  it.live("authentication: 401 with a Bearer challenge, 403 without the scope; other paths are not SCIM's", () =>
    Effect.gen(function* () {
      const { ctx, admin, request, origin } = yield* startScim()
      const none = yield* request("GET", "/scim/v2/Users", undefined, { token: null })
      assert.strictEqual(none.status, 401)
      assert.strictEqual(none.headers.get("www-authenticate"), "Bearer")
      assert.deepStrictEqual(none.json.schemas, [ERROR])
      assert.strictEqual(none.json.status, "401")
      const bogus = yield* request("GET", "/scim/v2/Users", undefined, { token: `cft_${"x".repeat(43)}` })
      assert.strictEqual(bogus.status, 401)
      assert.match(bogus.headers.get("www-authenticate")!, /^Bearer error="invalid_token"/)
      const apiTokens = Context.get(ctx, ApiTokens)
      const unscoped = yield* admin(apiTokens.create({ person: "okta", scopes: ["tenants:read"], expiresInDays: 1 }))
      const forbidden = yield* request("POST", "/scim/v2/Users", user("eve@example.com"), { token: Redacted.value(unscoped.token) })
      assert.strictEqual(forbidden.status, 403)
      assert.include(forbidden.json.detail, "scim:provision")
      assert.strictEqual((yield* request("GET", "/scim/v2/Users?filter=userName%20eq%20%22eve%40example.com%22")).json.totalResults, 0)
      // The provisioning account offboarded: its token goes with it.
      yield* admin(Context.get(ctx, Fleet).offboardPerson("okta"))
      assert.strictEqual((yield* request("GET", "/scim/v2/Users")).status, 401)
      const elsewhere = yield* Effect.promise(() => fetch(`${origin}/scimv2/Users`).then((r) => r.text()))
      assert.strictEqual(elsewhere, "not scim")
    }).pipe(Effect.scoped)
  )

  it.live("pagination by startIndex and count; ids from the address, deduplicated", () =>
    Effect.gen(function* () {
      const { ctx, admin, request } = yield* startScim({ tenantPolicy: "none" })
      const ids: Array<string> = []
      for (const address of [
        "ada@example.com",
        "ada@example.org",
        "Zoe.O'Brien+scim@example.com",
        "bob@example.com",
        "carol@example.com"
      ]) {
        const created = yield* request("POST", "/scim/v2/Users", user(address))
        assert.strictEqual(created.status, 201)
        ids.push(created.json.id)
      }
      assert.deepStrictEqual(ids, ["ada", "ada-2", "zoe-o-brien-scim", "bob", "carol"])
      assert.deepStrictEqual((yield* admin(Context.get(ctx, Tenants).list())).items, [], "tenantPolicy none creates no assistant")
      // Six people in all, with the provisioning account, in id order.
      const first = yield* request("GET", "/scim/v2/Users?startIndex=1&count=2")
      assert.deepInclude(first.json, { totalResults: 6, startIndex: 1, itemsPerPage: 2 })
      assert.deepStrictEqual(
        first.json.Resources.map((u: { id: string }) => u.id),
        ["ada", "ada-2"]
      )
      const last = yield* request("GET", "/scim/v2/Users?startIndex=5&count=2")
      assert.deepStrictEqual(
        last.json.Resources.map((u: { id: string }) => u.id),
        ["okta", "zoe-o-brien-scim"]
      )
      assert.strictEqual((yield* request("GET", "/scim/v2/Users?startIndex=7&count=2")).json.itemsPerPage, 0)
      const counted = yield* request("GET", "/scim/v2/Users?count=0")
      assert.deepInclude(counted.json, { totalResults: 6, itemsPerPage: 0, Resources: [] })
      const clamped = yield* request("GET", "/scim/v2/Users?startIndex=0")
      assert.deepInclude(clamped.json, { startIndex: 1, itemsPerPage: 6 })
      const only = yield* request("GET", "/scim/v2/Users?attributes=userName&count=1")
      assert.deepStrictEqual(Object.keys(only.json.Resources[0]).sort(), ["id", "meta", "schemas", "userName"])
    }).pipe(Effect.scoped)
  )

  it.live("errors in SCIM's format: invalid values name the attribute, unknown ids are 404", () =>
    Effect.gen(function* () {
      const { ctx, admin, request } = yield* startScim()
      const expectError = (answer: { status: number; json: any }, status: number, scimType?: string, mentions?: string) => {
        assert.strictEqual(answer.status, status)
        assert.deepStrictEqual(answer.json.schemas, [ERROR])
        assert.strictEqual(answer.json.status, String(status))
        assert.strictEqual(answer.json.scimType, scimType)
        if (mentions !== undefined) assert.include(answer.json.detail, mentions)
      }
      expectError(yield* request("POST", "/scim/v2/Users", { schemas: [USER], name: { givenName: "No" } }), 400, "invalidValue", "userName")
      expectError(yield* request("POST", "/scim/v2/Users", user("not-an-address")), 400, "invalidValue", "userName")
      expectError(yield* request("POST", "/scim/v2/Users", user("x@example.com", { active: "maybe" })), 400, "invalidValue", "active")
      expectError(yield* request("POST", "/scim/v2/Users", undefined, { raw: "{nope" }), 400, "invalidSyntax")
      expectError(yield* request("GET", `/scim/v2/Users?filter=${encodeURIComponent('userName gt "ada"')}`), 400, "invalidFilter")
      expectError(yield* request("GET", `/scim/v2/Users?filter=${encodeURIComponent('nickName eq "1"')}`), 400, "invalidFilter", "nickName")
      expectError(yield* request("POST", "/scim/v2/Users", user("x@example.com", { externalId: 7 })), 400, "invalidValue", "externalId")
      expectError(
        yield* request("POST", "/scim/v2/Users", user("x@example.com", { externalId: "e".repeat(256) })),
        400,
        "invalidValue",
        "externalId"
      )
      expectError(yield* request("GET", "/scim/v2/Users/nobody"), 404, undefined, "nobody")
      expectError(
        yield* request("PATCH", "/scim/v2/Users/nobody", {
          schemas: [PATCH_OP],
          Operations: [{ op: "replace", value: { active: false } }]
        }),
        404
      )
      expectError(yield* request("DELETE", "/scim/v2/Groups/%%%"), 404)
      expectError(yield* request("GET", "/scim/v2/Groups/not-base64!"), 404)

      const ada = (yield* request("POST", "/scim/v2/Users", user("ada@example.com"))).json.id as string
      expectError(
        yield* request("PATCH", `/scim/v2/Users/${ada}`, { schemas: [PATCH_OP], Operations: [{ op: "move", path: "x" }] }),
        400,
        "invalidSyntax"
      )
      expectError(
        yield* request("PATCH", `/scim/v2/Users/${ada}`, { schemas: [PATCH_OP], Operations: [{ op: "remove" }] }),
        400,
        "noTarget"
      )
      expectError(
        yield* request("PATCH", `/scim/v2/Users/${ada}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: "replace", path: "active", value: "nope" }]
        }),
        400,
        "invalidValue",
        "active"
      )
      yield* request("POST", "/scim/v2/Users", user("bob@example.com"))
      expectError(
        yield* request("PATCH", `/scim/v2/Users/${ada}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: "replace", path: "userName", value: "BOB@example.com" }]
        }),
        409,
        "uniqueness"
      )

      // Groups: unknown members, a team rule naming a missing team, a rename.
      const group = (yield* request("POST", "/scim/v2/Groups", { schemas: [GROUP], displayName: "Everyone" })).json.id as string
      const add = (value: string, to = group) =>
        request("PATCH", `/scim/v2/Groups/${to}`, { schemas: [PATCH_OP], Operations: [{ op: "add", path: "members", value: [{ value }] }] })
      expectError(yield* add("ghost"), 400, "invalidValue", "members")
      const missingTeam = (yield* request("POST", "/scim/v2/Groups", { schemas: [GROUP], displayName: "team:nowhere" })).json.id as string
      expectError(yield* add(ada, missingTeam), 400, "invalidValue", "nowhere")
      expectError(
        yield* request("PATCH", `/scim/v2/Groups/${group}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: "replace", path: "displayName", value: "All" }]
        }),
        400,
        "mutability"
      )
      assert.deepStrictEqual((yield* admin(Context.get(ctx, Fleet).getPerson(ada))).groups, [], "a refused request writes nothing")
    }).pipe(Effect.scoped)
  )

  it.live("a body over the limit is refused with 413, and nothing is written", () =>
    Effect.gen(function* () {
      const { ctx, admin, request } = yield* startScim({ maxBodyBytes: 64 })
      const big = yield* request("POST", "/scim/v2/Users", user("long@example.com", { displayName: "x".repeat(100) }))
      assert.strictEqual(big.status, 413)
      assert.strictEqual(big.json.status, "413")
      assert.strictEqual((yield* admin(Context.get(ctx, Fleet).listPeople())).items.length, 1)
    }).pipe(Effect.scoped)
  )
})
