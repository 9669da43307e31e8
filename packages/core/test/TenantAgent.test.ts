import * as http from "node:http"
import type { AddressInfo } from "node:net"
import {
  agentAudience,
  Clawfleet,
  Fleet,
  makeAgentApi,
  SigningKeys,
  TenantAgent,
  TenantGate,
  Tenants,
  Tokens,
  VirtualKeys,
  withActor
} from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Context, Effect, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { WebSocket, WebSocketServer } from "ws"
import { SkillBundles } from "../src/skills/SkillBundles.ts"

const ISSUER = "https://clawfleet.test"
const GATEWAY_TOKEN = "gw-secret-token"

/** The control plane: fleet in memory, tokens, the gate, and the agent API on loopback HTTP. */
const controlPlane = Layer.mergeAll(Tokens.layer({ issuer: ISSUER }), TenantGate.layer, SkillBundles.layer).pipe(
  Layer.provideMerge(SigningKeys.layer()),
  Layer.provideMerge(VirtualKeys.layer),
  Layer.provideMerge(Layer.fresh(Clawfleet.layerMemory))
)

const listen = (handler: http.RequestListener) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<http.Server>((resolve) => {
          const server = http.createServer(handler)
          server.listen(0, "127.0.0.1", () => resolve(server))
        })
    ),
    (server) =>
      Effect.promise(() => {
        server.closeAllConnections()
        return new Promise<void>((resolve) => server.close(() => resolve()))
      })
  )

interface Seen {
  readonly headers: Array<http.IncomingHttpHeaders>
}

/** A stand-in for the OpenClaw gateway: it requires its token and echoes WebSocket messages. */
const fakeGateway = Effect.gen(function* () {
  const seen: Seen = { headers: [] }
  const server = yield* listen((req, res) => {
    seen.headers.push(req.headers)
    if (req.headers.authorization !== `Bearer ${GATEWAY_TOKEN}`) return res.writeHead(401).end()
    res.writeHead(200, { "content-type": "text/plain" }).end(`gateway ${req.url}`)
  })
  const wss = new WebSocketServer({ noServer: true })
  server.on("upgrade", (req, socket, head) => {
    seen.headers.push(req.headers)
    if (req.headers.authorization !== `Bearer ${GATEWAY_TOKEN}`) {
      socket.end("HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n")
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => ws.on("message", (data) => ws.send(`echo ${data}`)))
  })
  yield* Effect.addFinalizer(() => Effect.sync(() => wss.close()))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
})

const get = (url: string, cookie?: string) =>
  Effect.promise(async () => {
    const res = await fetch(url, { redirect: "manual", headers: cookie === undefined ? {} : { cookie } })
    return { status: res.status, text: await res.text(), headers: res.headers }
  })

const wsEcho = (url: string, cookie: string | undefined) =>
  Effect.promise(
    () =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(url, { headers: cookie === undefined ? {} : { cookie } })
        ws.on("open", () => ws.send("hello"))
        ws.on("message", (data) => {
          resolve(String(data))
          ws.close()
        })
        ws.on("unexpected-response", (_req, res) => resolve(`refused ${res.statusCode}`))
        ws.on("error", () => resolve("error"))
      })
  )

// Live clock: the agent checks expiry against real time, as it would in a pod.
describe("tenant agent", () => {
  it.live("pairs a browser once, then proxies HTTP and WebSocket to the gateway with the gateway's token", () =>
    Effect.gen(function* () {
      const ctx = yield* Layer.build(controlPlane)
      const run = <A, E>(e: Effect.Effect<A, E, any>) => e.pipe(Effect.provide(ctx), withActor("admin@example.com")) as Effect.Effect<A, E>
      const fleet = Context.get(ctx, Fleet)
      yield* run(
        Effect.forEach(["ada", "bob"], (id) =>
          fleet.onboardPerson({ person: { id, email: `${id}@example.com`, displayName: id }, tenant: { name: id } })
        )
      )
      const key = yield* run(Effect.map(Context.get(ctx, VirtualKeys).issue("ada"), (k) => k.key))
      const api = yield* listen(yield* run(makeAgentApi))
      const gateway = yield* fakeGateway
      const agent = Context.get(
        yield* Layer.build(
          TenantAgent.layer({
            tenant: "ada",
            controlPlaneUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
            issuer: ISSUER,
            tenantKey: key,
            gateway: { url: gateway.url, token: Redacted.make(GATEWAY_TOKEN) },
            secureCookie: false
          })
        ),
        TenantAgent
      )
      const tokens = Context.get(ctx, Tokens)
      const pairing = (tenant: string, clock?: Clock.Clock) =>
        run(
          Effect.map(
            tokens
              .issuePairing({ person: tenant, tenant, audience: agentAudience(tenant) })
              .pipe(clock === undefined ? (e) => e : Effect.provideService(Clock.Clock, clock)),
            (t) => Redacted.value(t.token)
          )
        )

      // Nothing gets through without a pairing.
      assert.strictEqual((yield* get(`${agent.url}/`)).status, 401)
      assert.strictEqual(yield* wsEcho(`${agent.url.replace("http", "ws")}/ws`, undefined), "refused 401")
      assert.strictEqual((yield* get(`${agent.url}/clawfleet/health`)).status, 200)
      assert.strictEqual(gateway.seen.headers.length, 0)

      const link = yield* pairing("ada")
      const paired = yield* get(`${agent.url}/clawfleet/pair?token=${link}`)
      assert.strictEqual(paired.status, 303)
      const setCookie = paired.headers.get("set-cookie") ?? ""
      assert.match(setCookie, /^cf_agent_ada=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\//)
      const cookie = `${setCookie.split(";")[0]}; theme=dark`

      const page = yield* get(`${agent.url}/chat?x=1`, cookie)
      assert.strictEqual(page.status, 200)
      assert.strictEqual(page.text, "gateway /chat?x=1")
      const seen = gateway.seen.headers.at(-1)!
      assert.strictEqual(seen.authorization, `Bearer ${GATEWAY_TOKEN}`)
      assert.strictEqual(seen.cookie, "theme=dark", "the gateway never sees the agent's session")
      assert.notInclude(JSON.stringify(page.headers), GATEWAY_TOKEN)
      assert.strictEqual(seen["x-clawfleet-person"], "ada", "the gateway learns who was paired")
      assert.isUndefined(seen["x-forwarded-user"], "OpenClaw refuses a loopback request with forwarding headers")
      // A browser cannot speak for someone else to a gateway that trusts the agent.
      yield* Effect.promise(() =>
        fetch(`${agent.url}/spoof`, {
          headers: {
            cookie,
            "x-clawfleet-person": "bob",
            "x-forwarded-user": "bob",
            "x-forwarded-for": "10.0.0.1",
            "x-real-ip": "10.0.0.1",
            forwarded: "for=10.0.0.1"
          }
        })
      )
      const spoofed = gateway.seen.headers.at(-1)!
      assert.strictEqual(spoofed["x-clawfleet-person"], "ada")
      assert.isUndefined(spoofed["x-forwarded-user"])
      assert.isUndefined(spoofed["x-forwarded-for"])
      assert.isUndefined(spoofed["x-real-ip"])
      assert.isUndefined(spoofed.forwarded)
      // Use is reported to the control plane, for idle suspend.
      let activity: unknown
      for (let i = 0; i < 100 && activity === undefined; i++) {
        yield* Effect.sleep("10 millis")
        activity = (yield* run(Context.get(ctx, Tenants).get("ada"))).value.status.lastActivity
      }
      assert.isDefined(activity)
      assert.strictEqual(yield* wsEcho(`${agent.url.replace("http", "ws")}/ws`, cookie), "echo hello")
      assert.strictEqual(gateway.seen.headers.at(-1)!.authorization, `Bearer ${GATEWAY_TOKEN}`)

      // The same link twice, an expired one, another tenant's, a tampered one: all refused.
      const again = yield* get(`${agent.url}/clawfleet/pair?token=${link}`)
      assert.strictEqual(again.status, 403)
      assert.match(again.text, /already used/)
      const past = yield* TestClock.make()
      yield* past.setTime(Date.now() - 3_600_000)
      const expired = yield* pairing("ada", past)
      assert.strictEqual((yield* get(`${agent.url}/clawfleet/pair?token=${expired}`)).status, 403)
      const bobs = yield* pairing("bob")
      assert.strictEqual((yield* get(`${agent.url}/clawfleet/pair?token=${bobs}`)).status, 403)
      const fresh = yield* pairing("ada")
      const [h, b, s] = fresh.split(".")
      const tampered = `${h}.${b}.${s!.slice(0, -2)}${s!.endsWith("AA") ? "BB" : "AA"}`
      assert.strictEqual((yield* get(`${agent.url}/clawfleet/pair?token=${tampered}`)).status, 403)
      assert.strictEqual((yield* get(`${agent.url}/clawfleet/pair?token=${fresh}`)).status, 303, "the untampered link still works")

      // Ending sessions closes the door again.
      agent.endSessions()
      assert.strictEqual((yield* get(`${agent.url}/chat`, cookie)).status, 401)
    }).pipe(Effect.scoped)
  )
})
