import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { HttpApi, OpenApi } from "effect/http-api"
import { ClawfleetApi } from "../../src/api/Api.ts"
import { isNoSuchOperation, isProblem, matchesTemplate, operationsOf, pathOf, readSpec } from "./operations.ts"
import { makeFixture } from "./support.ts"

const ids = { person: "otto", tenant: "otto" }
const methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

describe("OpenAPI document", () => {
  it.live("is OpenAPI 3.1, titled clawfleet version 1, with both security schemes on every operation", () =>
    Effect.gen(function* () {
      const spec = yield* readSpec(yield* makeFixture({ catalog: true }))
      assert.match(spec.openapi, /^3\.1\./)
      assert.strictEqual(spec.info.title, "clawfleet")
      assert.strictEqual(spec.info.version, "1")
      assert.deepInclude(spec.components.securitySchemes.apiToken, { type: "http", scheme: "Bearer" })
      assert.deepInclude(spec.components.securitySchemes.session, { type: "apiKey", in: "cookie", name: "cf_session" })
      for (const op of operationsOf(spec)) {
        assert.deepStrictEqual(op.raw.security, [{ apiToken: [] }, { session: [] }], op.id)
        assert.isArray(op.raw["x-clawfleet-access"]?.roles, `${op.id} publishes its access policy`)
        for (const status of ["400", "401", "403", "503"]) {
          assert.property(op.raw.responses, status, `${op.id} documents ${status}`)
          assert.property(op.raw.responses[status].content, "application/problem+json", `${op.id} ${status} is a problem`)
        }
      }
      // The document served is the one derived from the definition, not a stale copy.
      assert.deepStrictEqual(spec, JSON.parse(JSON.stringify(OpenApi.fromApi(ClawfleetApi))))
    }).pipe(Effect.scoped)
  )

  it.live("names every operation of the API definition, and nothing else", () =>
    Effect.gen(function* () {
      const defined: Array<string> = []
      HttpApi.reflect(ClawfleetApi, {
        onGroup: () => {},
        onEndpoint: ({ group, endpoint }) => defined.push(`${endpoint.method} ${endpoint.path} ${group.identifier}.${endpoint.identifier}`)
      })
      const documented = operationsOf(yield* readSpec(yield* makeFixture({ catalog: true }))).map(
        (op) => `${op.method} ${op.template.replace(/\{(\w+)\}/g, ":$1")} ${op.id}`
      )
      assert.deepStrictEqual(documented.sort(), defined.sort())
    }).pipe(Effect.scoped)
  )

  it.live("every documented operation is served, and the server answers nothing undocumented", () =>
    Effect.gen(function* () {
      const fixture = yield* makeFixture({ catalog: true })
      const operations = operationsOf(yield* readSpec(fixture))
      const documented = new Set(operations.map((op) => `${op.method} ${op.template}`))
      const templates = [...new Set(operations.map((op) => op.template))]
      for (const template of templates) {
        const op = operations.find((o) => o.template === template)!
        const path = pathOf(op, ids)
        for (const method of methods) {
          const r = yield* fixture.request(method, path, {
            as: "root",
            body: method === "GET" || method === "DELETE" ? undefined : {}
          })
          assert.isTrue(isProblem(r) || r.status < 400, `${method} ${template}: ${r.status}`)
          // `DELETE /grants/explain` is `DELETE /grants/{id}` with an id that is not one: served.
          const servedAs = operations.some((o) => o.method === method && matchesTemplate(o.template, path))
          if (documented.has(`${method} ${template}`) || servedAs)
            assert.isFalse(isNoSuchOperation(r), `${method} ${template} is documented but not served`)
          else assert.isTrue(isNoSuchOperation(r), `${method} ${template} answers ${r.status} but is not documented`)
        }
      }
      // Neighbours of real paths, other versions, the bare prefix: nothing there.
      for (const path of [
        "/api",
        "/api/",
        "/api/v1",
        "/api/v1/",
        "/api/v2/me",
        "/api/v1/people/otto/tenants",
        "/api/v1/tenants/otto/pair",
        "/api/v1/tenants/otto/open",
        "/api/v1/admin"
      ]) {
        for (const method of methods) {
          const r = yield* fixture.request(method, path, { as: "root" })
          assert.isTrue(isNoSuchOperation(r), `${method} ${path} answers ${r.status}`)
          assert.isTrue(isProblem(r), `${method} ${path} answers a problem`)
        }
      }
    }).pipe(Effect.scoped)
  )
})
