import * as http from "node:http"
import type { AddressInfo } from "node:net"
import {
  Clawfleet,
  Fleet,
  makeAgentApi,
  OidcSignIn,
  PairingLinks,
  Sessions,
  SigningKeys,
  TenantAgent,
  TenantGate,
  TenantStatus,
  Tenants,
  Tokens,
  VirtualKeys,
  withActor
} from "@clawfleet/core"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { WebSocket, WebSocketServer } from "ws"
import { SkillBundles } from "../src/skills/SkillBundles.ts"
import { CLIENT_ID, CLIENT_SECRET, loginAt, type OidcTestProvider, startOidcProvider } from "./support/oidc.ts"

/**
 * From sign-in to a conversation: Ada signs in through a real OIDC provider, asks for a pairing
 * link to her assistant, opens it at her tenant's agent, and talks to the gateway over a
 * WebSocket through it. Then every way to misuse the link is refused.
 */

const REDIRECT_URI = "http://127.0.0.1:3999/auth/callback"
const ISSUER = "https://clawfleet.test"
const GATEWAY_TOKEN = "gw-secret-token"

let oidc: OidcTestProvider
beforeAll(async () => {
  oidc = await startOidcProvider({
    accounts: {
      ada: { email: "ada@example.com", email_verified: true },
      bob: { email: "bob@example.com", email_verified: true }
    },
    redirectUri: REDIRECT_URI,
    postLogoutRedirectUri: "http://127.0.0.1:3999/"
  })
}, 10_000)
afterAll(() => oidc.close())

const serve = (handler: http.RequestListener, onUpgrade?: (req: http.IncomingMessage, socket: any, head: Buffer) => void) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<http.Server>((resolve) => {
          const server = http.createServer(handler)
          if (onUpgrade) server.on("upgrade", onUpgrade)
          server.listen(0, "127.0.0.1", () => resolve(server))
        })
    ),
    (server) =>
      Effect.promise(() => {
        server.closeAllConnections()
        return new Promise<void>((resolve) => server.close(() => resolve()))
      })
  )
const urlOf = (server: http.Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`

const get = (url: string, cookie?: string) =>
  Effect.promise(async () => {
    const res = await fetch(url, { redirect: "manual", headers: cookie === undefined ? {} : { cookie } })
    return { status: res.status, text: await res.text(), setCookie: res.headers.get("set-cookie") }
  })

describe("sign in, pair, talk", () => {
  it.live("takes a person from OIDC sign-in to a WebSocket on their assistant, and refuses every misuse of the link", () =>
    Effect.gen(function* () {
      const controlPlane = Layer.mergeAll(
        PairingLinks.layer,
        OidcSignIn.layer({
          issuer: oidc.issuer,
          clientId: CLIENT_ID,
          clientSecret: Redacted.make(CLIENT_SECRET),
          redirectUri: REDIRECT_URI,
          scopes: ["email"],
          allowInsecureRequests: true
        }),
        TenantGate.layer,
        SkillBundles.layer
      ).pipe(
        Layer.provideMerge(Tokens.layer({ issuer: ISSUER })),
        Layer.provideMerge(SigningKeys.layer()),
        Layer.provideMerge(VirtualKeys.layer),
        Layer.provideMerge(Layer.fresh(Clawfleet.layerMemory))
      )
      const ctx = yield* Layer.build(controlPlane)
      const cp = <A, E>(e: Effect.Effect<A, E, any>) => e.pipe(Effect.provide(ctx), withActor("admin@example.com")) as Effect.Effect<A, E>
      const fleet = Context.get(ctx, Fleet)
      yield* cp(
        Effect.forEach(["ada", "bob"], (id) =>
          fleet.onboardPerson({ person: { id, email: `${id}@example.com`, displayName: id }, tenant: { name: id } })
        )
      )

      // Ada's pod: the gateway on loopback and the agent in front of it.
      const wss = new WebSocketServer({ noServer: true })
      yield* Effect.addFinalizer(() => Effect.sync(() => wss.close()))
      const gateway = yield* serve(
        (_req, res) => res.writeHead(200).end("gateway"),
        (req, socket, head) => {
          if (req.headers.authorization !== `Bearer ${GATEWAY_TOKEN}`) return socket.end("HTTP/1.1 401 Unauthorized\r\n\r\n")
          wss.handleUpgrade(req, socket, head, (ws) => ws.on("message", (m) => ws.send(`assistant heard: ${m}`)))
        }
      )
      const api = yield* serve(yield* cp(makeAgentApi))
      const key = yield* cp(Effect.map(Context.get(ctx, VirtualKeys).issue("ada"), (k) => k.key))
      const agent = Context.get(
        yield* Layer.build(
          TenantAgent.layer({
            tenant: "ada",
            controlPlaneUrl: urlOf(api),
            issuer: ISSUER,
            tenantKey: key,
            gateway: { url: urlOf(gateway), token: Redacted.make(GATEWAY_TOKEN) },
            secureCookie: false
          })
        ),
        TenantAgent
      )
      // What the reconciler and provider would have reported: Ada's tenant is up, at the agent.
      const tenants = Context.get(ctx, Tenants)
      for (const name of ["ada", "bob"]) {
        const t = yield* cp(tenants.get(name))
        yield* cp(
          tenants.writeStatus(
            name,
            t.version,
            new TenantStatus({
              phase: "Ready",
              conditions: [],
              observedGeneration: 1,
              endpoint: name === "ada" ? agent.url : "http://127.0.0.1:9"
            })
          )
        )
      }

      // 1. Sign in.
      const signIn = Context.get(ctx, OidcSignIn)
      const signInAs = (login: string) =>
        Effect.gen(function* () {
          const begun = yield* cp(signIn.begin({ returnTo: "/" }))
          const callbackUrl = yield* Effect.promise(() => loginAt(begun.authorizationUrl, login, REDIRECT_URI))
          const done = yield* cp(signIn.complete({ callbackUrl, transaction: begun.transaction }))
          return (yield* cp(Context.get(ctx, Sessions).verify(Redacted.value(done.session))))!
        })
      const ada = yield* signInAs("ada")
      assert.strictEqual(ada.id, "ada")

      // 2. Ask for a pairing link, as the person the session belongs to.
      const links = Context.get(ctx, PairingLinks)
      const link = Redacted.value((yield* cp(links.create({ tenant: "ada", requester: { person: ada.id, admin: false } }))).url)
      assert.isTrue(link.startsWith(`${agent.url}/clawfleet/pair?token=`))
      const bob = yield* signInAs("bob")
      const forbidden = yield* cp(Effect.flip(links.create({ tenant: "ada", requester: { person: bob.id, admin: false } })))
      assert.strictEqual(forbidden._tag === "PairingError" ? forbidden.reason : forbidden._tag, "Forbidden")

      // 3. Open it: the agent checks it against the control plane's JWKS and has it redeemed once.
      const opened = yield* get(link)
      assert.strictEqual(opened.status, 303)
      const cookie = opened.setCookie!.split(";")[0]!

      // 4. Talk to the assistant over a WebSocket through the agent.
      const heard = yield* Effect.promise(
        () =>
          new Promise<string>((resolve, reject) => {
            const ws = new WebSocket(`${agent.url.replace("http", "ws")}/ws`, { headers: { cookie } })
            ws.on("open", () => ws.send("hello"))
            ws.on("message", (m) => {
              resolve(String(m))
              ws.close()
            })
            ws.on("error", reject)
          })
      )
      assert.strictEqual(heard, "assistant heard: hello")

      // 5. Misuse: the same link again, another tenant's link, a tampered one.
      assert.strictEqual((yield* get(link)).status, 403)
      const bobsLink = Redacted.value((yield* cp(links.create({ tenant: "bob", requester: { person: bob.id, admin: false } }))).url)
      assert.strictEqual((yield* get(`${agent.url}/clawfleet/pair?token=${new URL(bobsLink).searchParams.get("token")}`)).status, 403)
      const another = new URL(Redacted.value((yield* cp(links.create({ tenant: "ada", requester: { person: ada.id, admin: false } }))).url))
      const [h, b, s] = another.searchParams.get("token")!.split(".")
      const tampered = `${h}.${b}.${s!.slice(0, -2)}${s!.endsWith("AA") ? "BB" : "AA"}`
      assert.strictEqual((yield* get(`${agent.url}/clawfleet/pair?token=${tampered}`)).status, 403)
      // An administrator may pair with anyone's assistant; the link names them.
      const byAdmin = yield* cp(links.create({ tenant: "ada", requester: { person: bob.id, admin: true } }))
      assert.isTrue(Redacted.value(byAdmin.url).startsWith(agent.url))
    }).pipe(Effect.scoped)
  )
})
