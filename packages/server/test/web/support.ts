import * as http from "node:http"
import { type Condition, Fleet, listen, Metering, Sessions, TenantStatus, Tenants } from "@clawfleet/core"
import { Context, DateTime, Effect, Layer, Redacted, type Scope } from "effect"
import { makeWebPages } from "../../src/web/index.ts"
import { type Fixture, makeFixture, ROLES } from "../api/support.ts"

/**
 * The web pages on a loopback port over the API fixture's organisation (`root` and `olga` org
 * admins, `tam` team admin of platform, `mia` platform, `otto` and `nemo` data) and a memory
 * meter, plus `eve` (platform), whose display name is markup. Mia's assistant is Ready but for its
 * network, has a budget, and used the model three times this month; the org may use every model
 * and the platform team is denied `gpt-danger`.
 */

export const EVIL_NAME = `<script>alert("x")</script> & 'Eve'`

export interface WebFixture {
  readonly origin: string
  readonly api: Fixture
  readonly metering: Metering["Service"]
  readonly cookie: (who: string) => string
  readonly get: (path: string, as?: string) => Effect.Effect<{ readonly status: number; readonly headers: Headers; readonly text: string }>
}

export const makeWebFixture: Effect.Effect<WebFixture, never, Scope.Scope> = Effect.gen(function* () {
  const api = yield* makeFixture()
  const metering = Context.get(yield* Layer.build(Metering.layerMemory), Metering)
  const extra = new Map<string, string>()
  yield* api
    .run(
      Effect.gen(function* () {
        const fleet = yield* Fleet
        const tenants = yield* Tenants
        yield* fleet.onboardPerson({
          person: { id: "eve", email: "eve@example.com", displayName: EVIL_NAME, team: "platform" },
          tenant: false
        })
        const eve = yield* Context.get(api.context, Sessions).create("eve")
        extra.set("eve", Redacted.value(eve.token))
        yield* fleet.updateTenant("mia", { budget: { monthlyTokens: 100_000, monthlyUsd: 25 } })
        const mia = yield* tenants.get("mia")
        yield* tenants.writeStatus(
          "mia",
          mia.version,
          new TenantStatus({
            phase: "Provisioning",
            observedGeneration: mia.value.generation,
            conditions: [
              condition("StorageReady", "True", "Bound", "volume bound", mia.value.generation),
              condition("NetworkReady", "False", "PolicyPending", "waiting for the <egress> policy", mia.value.generation),
              condition("WorkloadReady", "False", "NotStarted", "not started", mia.value.generation)
            ]
          })
        )
        yield* fleet.grant({ subject: { kind: "org" }, resource: { kind: "model", name: "*" }, effect: "allow", reason: "everyone" })
        yield* fleet.grant({
          subject: { kind: "team", id: "platform" },
          resource: { kind: "model", name: "gpt-danger" },
          effect: "deny",
          reason: "not <yet>"
        })
      })
    )
    .pipe(Effect.orDie)
  for (let i = 0; i < 3; i++) {
    const id = `mia-${i}`
    yield* metering
      .reserve({ requestId: id, tenant: "mia", model: "gpt-4.1", tokens: 5_000, micros: 500_000, limits: {} })
      .pipe(Effect.orDie)
    yield* metering.settle(id, { inputTokens: 1_000, outputTokens: 234, micros: 1_250_000 }).pipe(Effect.orDie)
  }

  const pages = yield* makeWebPages({ roles: ROLES, publicOrigin: "http://127.0.0.1" }).pipe(
    Effect.provide(Context.add(api.context, Metering, metering))
  )
  const server = http.createServer((req, res) => {
    if (!pages(req, res)) res.writeHead(404, { "content-type": "text/plain" }).end("not a page")
  })
  const { origin } = yield* listen(server, {})
  const cookie = (who: string) => extra.get(who) ?? api.cookie(who as never)
  return {
    origin,
    api,
    metering,
    cookie,
    get: (path: string, as?: string) =>
      Effect.promise(async () => {
        const res = await fetch(`${origin}${path}`, { headers: as === undefined ? {} : { cookie: `cf_session=${cookie(as)}` } })
        return { status: res.status, headers: res.headers, text: await res.text() }
      })
  } satisfies WebFixture
})

const condition = (
  type: Condition["type"],
  status: Condition["status"],
  reason: string,
  message: string,
  observedGeneration: number
): Condition => ({ type, status, reason, message, lastTransitionTime: DateTime.makeUnsafe(0), observedGeneration })
