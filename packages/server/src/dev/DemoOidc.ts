import { generateKeyPairSync, randomBytes } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Context, Effect, Layer, Redacted } from "effect"
// @ts-expect-error oidc-provider ships no type declarations
import Provider, { interactionPolicy } from "oidc-provider"
import { choosePage, type DemoPerson, errorPage, logoutPage, signedOutPage } from "./demoOidcPages.ts"

export type { DemoPerson } from "./demoOidcPages.ts"

export interface DemoOidcOptions {
  readonly people: ReadonlyArray<DemoPerson>
  /** The control plane's `/auth/callback`, registered for the one client. */
  readonly redirectUri: string
  readonly postLogoutRedirectUri: string
  /** Default 127.0.0.1: anyone who reaches the provider can be anyone in `people`. */
  readonly host?: string | undefined
  /** Default 0, a free port; the issuer says which. */
  readonly port?: number | undefined
}

/**
 * DEVELOPMENT ONLY: an OpenID Connect provider in the process, for `clawfleet dev`, that signs in as
 * whichever demo person the browser picks, without a password. It has one confidential client
 * (authorization code, PKCE S256 required) for `OidcSignIn`, with a secret and keys made at start,
 * and forgets everything when it stops.
 */
export class DemoOidc extends Context.Service<
  DemoOidc,
  {
    readonly issuer: string
    readonly clientId: string
    readonly clientSecret: Redacted.Redacted<string>
  }
>()("@clawfleet/server/DemoOidc") {
  /** Listens until the scope closes; closing drops every connection too. */
  static layer(options: DemoOidcOptions): Layer.Layer<DemoOidc> {
    return Layer.effect(DemoOidc, makeDemoOidc(options))
  }
}

const CLIENT_ID = "clawfleet"
const INTERACTION = /^\/interaction\/([\w-]+)$/
const MAX_FORM_BYTES = 16_384

/** The little of oidc-provider used here. */
interface Interaction {
  readonly uid: string
  readonly params: { readonly client_id: string; readonly scope?: string; readonly claims?: string }
  /** The provider session the browser came with, if any. */
  session?: { readonly accountId: string; readonly cookie?: string } | undefined
  persist(): Promise<void>
}
interface OidcProvider {
  readonly Grant: new (init: {
    accountId: string
    clientId: string
  }) => {
    addOIDCScope(scope: string): void
    addOIDCClaims(claims: ReadonlyArray<string>): void
    save(): Promise<string>
  }
  readonly Session: { find(id: string): Promise<{ destroy(): Promise<void> } | undefined> }
  callback(): http.RequestListener
  interactionDetails(req: http.IncomingMessage, res: http.ServerResponse): Promise<Interaction>
  interactionFinished(req: http.IncomingMessage, res: http.ServerResponse, result: object, options: object): Promise<void>
  on(event: "server_error", listener: (ctx: unknown, error: unknown) => void): void
}
interface Koa {
  type: string
  body: string
}

const makeDemoOidc = Effect.fnUntraced(function* (options: DemoOidcOptions) {
  const people = new Map(options.people.map((p) => [p.id, p]))
  const clientSecret = randomBytes(32).toString("base64url")
  const host = options.host ?? "127.0.0.1"
  const server = http.createServer()
  yield* Effect.acquireRelease(
    Effect.callback<void, Error>((resume) => {
      server.once("error", (e) => resume(Effect.fail(e)))
      server.listen(options.port ?? 0, host, () => resume(Effect.void))
    }),
    () =>
      Effect.callback<void>((resume) => {
        // Browsers and fetch keep connections alive; close would wait for them.
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.orDie)
  const issuer = `http://${host.includes(":") ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`

  // Without it a provider session would sign the next sign-in in as the last person, unasked.
  const policy = interactionPolicy.base()
  policy
    .get("login")
    .checks.add(
      new interactionPolicy.Check(
        "choose_person",
        "a demo person is chosen at every sign-in",
        "login_required",
        (ctx: any) => ctx.oidc.result?.login === undefined
      )
    )

  const provider: OidcProvider = new Provider(issuer, {
    adapter: memoryAdapter(),
    jwks: { keys: [{ ...generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" }), use: "sig" }] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        post_logout_redirect_uris: [options.postLogoutRedirectUri],
        grant_types: ["authorization_code"],
        response_types: ["code"]
      }
    ],
    // v9 knows only S256; `required` makes PKCE mandatory for confidential clients too.
    pkce: { required: () => true },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx: Koa, form: string) => html(ctx, logoutPage(form)),
        postLogoutSuccessSource: (ctx: Koa) => html(ctx, signedOutPage())
      }
    },
    interactions: { url: (_ctx: unknown, interaction: Interaction) => `/interaction/${interaction.uid}`, policy },
    renderError: (ctx: Koa, out: { error: string; error_description?: string }) =>
      html(ctx, errorPage("Sign-in did not work", `${out.error}: ${out.error_description ?? ""}`)),
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 8 * 3600, Grant: 8 * 3600 },
    findAccount: (_ctx: unknown, sub: string) => {
      const person = people.get(sub)
      return (
        person && {
          accountId: sub,
          claims: () => ({ sub, email: person.email, email_verified: true, name: person.displayName })
        }
      )
    }
  })

  const run = Effect.runForkWith(yield* Effect.context<never>())
  provider.on("server_error", (_ctx, error) => run(Effect.logError("the development sign-in failed", error)))

  /** Choosing a person is login and consent at once: the grant gets whatever the client asked for. */
  const interact = async (req: http.IncomingMessage, res: http.ServerResponse, uid: string) => {
    const found = await provider.interactionDetails(req, res).catch(() => undefined)
    if (found?.uid !== uid) return page(res, 400, errorPage("This sign-in has expired", "Start again from clawfleet."))
    if (req.method === "GET") return page(res, 200, choosePage({ action: `/interaction/${uid}`, people: options.people }))
    if (req.method !== "POST") return page(res, 405, errorPage("Method not allowed", "Choose a person on the sign-in page."))
    const person = people.get((await readForm(req))?.get("person") ?? "")
    if (person === undefined) return page(res, 400, errorPage("Unknown person", "Choose one of the demo people on the sign-in page."))
    if (found.session !== undefined && found.session.accountId !== person.id) {
      // Else the provider would first sign the earlier person out with a page that needs a script.
      if (found.session.cookie !== undefined) await (await provider.Session.find(found.session.cookie))?.destroy()
      found.session = undefined
      await found.persist()
    }
    const grant = new provider.Grant({ accountId: person.id, clientId: found.params.client_id })
    grant.addOIDCScope(found.params.scope ?? "openid")
    const claims = requestedClaims(found.params.claims)
    if (claims.length > 0) grant.addOIDCClaims(claims)
    const result = { login: { accountId: person.id }, consent: { grantId: await grant.save() } }
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false })
  }

  const callback = provider.callback()
  server.on("request", (req, res) => {
    const uid = INTERACTION.exec(URL.parse(req.url ?? "/", issuer)?.pathname ?? "")?.[1]
    if (uid === undefined) return callback(req, res)
    interact(req, res, uid).catch((error: unknown) => {
      run(Effect.logError("the development sign-in failed", error))
      if (!res.headersSent) page(res, 500, errorPage("Sign-in did not work", "See the clawfleet dev log."))
    })
  })

  return DemoOidc.of({ issuer, clientId: CLIENT_ID, clientSecret: Redacted.make(clientSecret) })
})

const html = (ctx: Koa, body: string) => {
  ctx.type = "html"
  ctx.body = body
}

const page = (res: http.ServerResponse, status: number, body: string) => {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
  })
  res.end(body)
}

/** Undefined when the body is too large to be one of our forms. */
const readForm = async (req: http.IncomingMessage): Promise<URLSearchParams | undefined> => {
  const chunks: Array<Buffer> = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if ((size += chunk.length) > MAX_FORM_BYTES) return undefined
    chunks.push(chunk)
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"))
}

/** Claims asked for one by one in the `claims` parameter, which scopes do not grant. */
const requestedClaims = (raw: string | undefined): Array<string> => {
  if (raw === undefined) return []
  const parsed = JSON.parse(raw) as { id_token?: object | null; userinfo?: object | null }
  return [...new Set([...Object.keys(parsed.id_token ?? {}), ...Object.keys(parsed.userinfo ?? {})])]
}

type Stored = { uid?: string; userCode?: string; grantId?: string; consumed?: number }

/**
 * Keeps the provider's sessions, codes and grants in memory: a restart signs everyone out, which
 * is fine here. Ours rather than the stock one, which warns at every start that it must be replaced.
 */
const memoryAdapter = () => {
  const entries = new Map<string, { readonly payload: Stored; readonly expiresAt: number }>()
  const live = (key: string): Stored | undefined => {
    const entry = entries.get(key)
    if (entry === undefined || entry.expiresAt > Date.now()) return entry?.payload
    entries.delete(key)
    return undefined
  }
  const findWhere = (model: string, matches: (payload: Stored) => boolean): Stored | undefined => {
    for (const key of entries.keys()) {
      const payload = key.startsWith(`${model}:`) ? live(key) : undefined
      if (payload !== undefined && matches(payload)) return payload
    }
    return undefined
  }
  return (model: string) => ({
    upsert: async (id: string, payload: Stored, expiresIn?: number) => {
      const now = Date.now()
      for (const [key, entry] of entries) if (entry.expiresAt <= now) entries.delete(key)
      entries.set(`${model}:${id}`, { payload, expiresAt: expiresIn === undefined ? Infinity : now + expiresIn * 1000 })
    },
    find: async (id: string) => live(`${model}:${id}`),
    findByUid: async (uid: string) => findWhere(model, (p) => p.uid === uid),
    findByUserCode: async (userCode: string) => findWhere(model, (p) => p.userCode === userCode),
    consume: async (id: string) => {
      const payload = live(`${model}:${id}`)
      if (payload !== undefined) payload.consumed = Math.floor(Date.now() / 1000)
    },
    destroy: async (id: string) => void entries.delete(`${model}:${id}`),
    revokeByGrantId: async (grantId: string) => {
      for (const [key, entry] of entries) if (entry.payload.grantId === grantId) entries.delete(key)
    }
  })
}
