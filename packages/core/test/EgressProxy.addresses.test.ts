import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ALICE, connect, lookupFrom, withProxy } from "./support/egress.ts"

describe("EgressProxy without allowPrivate", () => {
  const hostile: Record<string, ReadonlyArray<string>> = {
    "loop.allowed.test": ["127.0.0.1"],
    "metadata.allowed.test": ["169.254.169.254"],
    "v6loop.allowed.test": ["::1"],
    "ten.allowed.test": ["10.1.2.3"],
    "mapped.allowed.test": ["::ffff:127.0.0.1"],
    "mixed.allowed.test": ["93.184.216.34", "10.0.0.1"],
    "nat64.allowed.test": ["64:ff9b::a9fe:a9fe"],
    "ula.allowed.test": ["fd12:3456::1"]
  }

  it.effect("refuses with 403 any name with a private, loopback, link-local or mapped address among its answers", () =>
    withProxy(
      ({ proxy, gate, up }) =>
        Effect.gen(function* () {
          gate.grants.set("alice", ["*.allowed.test"])
          for (const host of Object.keys(hostile)) {
            const answer = yield* connect(proxy.port, `${host}:443`, `Bearer ${ALICE}`)
            assert.strictEqual(answer.status, 403, host)
            answer.socket.destroy()
            const last = gate.audit.at(-1)
            assert.strictEqual(last?.decision, "private-address", host)
            assert.deepStrictEqual(last?.after, { addresses: hostile[host] }, host)
          }
          assert.strictEqual(up.echoConnections, 0)
        }),
      () => ({ allowPrivate: [], lookup: lookupFrom(hostile) })
    )
  )
})
