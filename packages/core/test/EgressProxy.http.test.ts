import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ALICE, BASIC_ALICE, decisions, viaProxy, withProxy } from "./support/egress.ts"

describe("EgressProxy plain HTTP", () => {
  it.effect("forwards absolute-form requests, streaming the body, without proxy credentials or hop-by-hop headers", () =>
    withProxy(({ proxy, gate, up }) =>
      Effect.gen(function* () {
        const reply = yield* viaProxy(
          proxy.port,
          `http://API.allowed.test:${up.httpPort}/path?q=1`,
          {
            "proxy-authorization": BASIC_ALICE,
            "x-keep": "1",
            connection: "x-secret",
            "x-secret": "drop me",
            "proxy-connection": "keep-alive",
            upgrade: "h2c"
          },
          "the body"
        )
        assert.strictEqual(reply.status, 200)
        assert.strictEqual(reply.body, "POST /path?q=1 the body")
        assert.strictEqual(reply.headers["x-upstream"], "yes")
        assert.isUndefined(reply.headers["x-hop"], "a header the upstream's Connection names is not passed back")
        const seen = up.httpSeen.at(-1)!
        assert.strictEqual(seen.host, `api.allowed.test:${up.httpPort}`)
        assert.strictEqual(seen["x-keep"], "1")
        for (const name of ["proxy-authorization", "x-secret", "proxy-connection", "upgrade"]) assert.isUndefined(seen[name], name)
        assert.deepStrictEqual(decisions(gate), [`tenant:alice egress.allow api.allowed.test:${up.httpPort} allowed`])
      })
    )
  )

  it.effect("refuses each request on its own: 407, 403 for a host not granted or an IP literal, 400 for origin form", () =>
    withProxy(({ proxy, gate, up }) =>
      Effect.gen(function* () {
        const auth = { "proxy-authorization": `Bearer ${ALICE}` }
        const none = yield* viaProxy(proxy.port, `http://api.allowed.test:${up.httpPort}/`)
        assert.strictEqual(none.status, 407)
        assert.strictEqual(none.headers["proxy-authenticate"], 'Basic realm="clawfleet"')
        assert.strictEqual((yield* viaProxy(proxy.port, `http://denied.test:${up.httpPort}/`, auth)).status, 403)
        assert.strictEqual((yield* viaProxy(proxy.port, `http://127.0.0.1:${up.httpPort}/`, auth)).status, 403)
        assert.strictEqual((yield* viaProxy(proxy.port, "/just-a-path", auth)).status, 400)
        assert.strictEqual((yield* viaProxy(proxy.port, `http://api.allowed.test:${up.deadPort}/`, auth)).status, 502)
        assert.deepStrictEqual(
          gate.audit.map((a) => a.decision),
          ["missing-credentials", "not-granted", "ip-literal", "bad-request", "allowed"]
        )
        assert.strictEqual(up.httpSeen.length, 0)
      })
    )
  )
})
