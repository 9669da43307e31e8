import type * as http from "node:http"
import { Cause, Context, Effect, Exit, Option, Redacted } from "effect"
import { PairingError, PairingLinks } from "../agent/PairingLinks.ts"
import { Directory } from "../Directory.ts"
import type { Person } from "../domain/Directory.ts"
import { cookieValue, escapeHtml, sendJson } from "../internal/http.ts"
import { ApiTokens } from "./ApiTokens.ts"
import { OidcSignIn } from "./OidcSignIn.ts"
import { SignInError } from "./oidc/SignInError.ts"
import { Sessions } from "./Sessions.ts"
import { SigningKeys } from "./SigningKeys.ts"

export interface IdentityRoutesOptions {
  /** Where people reach the control plane, e.g. `https://clawfleet.example.com`: state-changing requests must come from it. */
  readonly publicOrigin: string
  /** Default true: cookies only over HTTPS. False for a loopback development setup. */
  readonly secureCookies?: boolean | undefined
  /** Who administers the fleet (until the server's roles decide it). Default: nobody. */
  readonly isAdmin?: ((person: Person) => boolean) | undefined
  /**
   * How long `GET /tenants/{name}/open` waits for a starting assistant before it answers with a
   * page that retries by itself. Default 20 s: a browser shows a slow load, not a dead link.
   */
  readonly openWaitMs?: number | undefined
}

export type IdentityRoutesServices = OidcSignIn | Sessions | PairingLinks | SigningKeys | ApiTokens | Directory

export const SESSION_COOKIE = "cf_session"
const SIGN_IN_COOKIE = "cf_signin"
/** The scope an API token needs to ask for pairing links. */
export const PAIRING_SCOPE = "tenants:pair"

/** A page a person reads: the answers of `/tenants/{name}/open` land in a browser, not a script. */
/** A page's form or link, rather than a script: it wants a page or a redirect back, not JSON. */
const fromBrowser = (req: http.IncomingMessage) =>
  (req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded") || (req.headers.accept ?? "").includes("text/html")

const html = (res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", ...headers })
  res.end(`<!doctype html><meta charset="utf-8"><title>clawfleet</title><p>${escapeHtml(message)}</p>\n`)
}

const PAIRING_STATUS: Record<string, number> = { Forbidden: 403, Disabled: 403, NotReady: 503, NoEndpoint: 409, Deleting: 409 }
const SIGN_IN_STATUS: Record<string, number> = { Unavailable: 503, ProviderError: 502, NotOnboarded: 403, Disabled: 403 }

/**
 * The identity routes of the control plane, on any node:http server: sign-in through OIDC
 * (`GET /auth/login`, `GET /auth/callback`, `POST /auth/logout`), the JWKS
 * (`GET /.well-known/jwks.json`) and pairing links (`POST /tenants/{name}/pairing`, for the
 * tenant's owner or an administrator, with a session or an API token scoped `tenants:pair`), and
 * `GET /tenants/{name}/open`, which signs a browser in if needed and sends it on a pairing link.
 * State-changing requests must come from `publicOrigin`. Answers `undefined` for any other path,
 * so the server can route on.
 */
export const makeIdentityRoutes = (
  options: IdentityRoutesOptions
): Effect.Effect<(req: http.IncomingMessage, res: http.ServerResponse) => boolean, never, IdentityRoutesServices> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<IdentityRoutesServices>()
    const run = Effect.runPromiseExitWith(context)
    const signIn = Context.get(context, OidcSignIn)
    const sessions = Context.get(context, Sessions)
    const links = Context.get(context, PairingLinks)
    const keys = Context.get(context, SigningKeys)
    const apiTokens = Context.get(context, ApiTokens)
    const directory = Context.get(context, Directory)
    const origin = new URL(options.publicOrigin).origin
    const secure = options.secureCookies ?? true
    const attrs = (path: string, maxAge: number) =>
      [`Path=${path}`, "HttpOnly", "SameSite=Lax", `Max-Age=${maxAge}`, ...(secure ? ["Secure"] : [])].join("; ")
    const failureOf = <E>(exit: Exit.Exit<unknown, E>) =>
      Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined

    // A browser always sends Origin on a cross-site POST; a script with an API token sends none.
    const sameOrigin = (req: http.IncomingMessage) => req.headers.origin === undefined || req.headers.origin === origin

    /** The person behind the request and what they may do: a session cookie, or an API token. */
    const whoIs = async (req: http.IncomingMessage): Promise<{ person: Person; scopes?: ReadonlyArray<string> } | "down" | undefined> => {
      const bearer = /^Bearer\s+(cft_\S+)$/.exec(req.headers.authorization ?? "")?.[1]
      if (bearer !== undefined) {
        const exit = await run(
          Effect.flatMap(apiTokens.verify(bearer), (t) =>
            Effect.map(directory.people.find(t.person), (found) =>
              found === undefined ? undefined : { person: found.value, scopes: t.scopes }
            )
          )
        )
        if (Exit.isSuccess(exit)) return exit.value
        return failureOf(exit)?._tag === "TokenError" ? undefined : "down"
      }
      const cookie = cookieValue(req.headers.cookie, SESSION_COOKIE)
      if (cookie === undefined) return undefined
      const exit = await run(sessions.verify(cookie))
      if (Exit.isFailure(exit)) return "down"
      return exit.value === undefined ? undefined : { person: exit.value }
    }
    const login = async (req: http.IncomingMessage, res: http.ServerResponse) => {
      const returnTo = new URL(req.url ?? "/", origin).searchParams.get("returnTo") ?? "/"
      const exit = await run(signIn.begin({ returnTo }))
      if (Exit.isFailure(exit)) return sendJson(res, 503, { error: "unavailable", message: "sign-in is not available right now" })
      res.writeHead(302, {
        location: exit.value.authorizationUrl.href,
        "set-cookie": `${SIGN_IN_COOKIE}=${exit.value.transaction}; ${attrs("/auth", exit.value.maxAgeSeconds)}`,
        "cache-control": "no-store"
      })
      res.end()
    }

    const callback = async (req: http.IncomingMessage, res: http.ServerResponse) => {
      const transaction = cookieValue(req.headers.cookie, SIGN_IN_COOKIE)
      const clear = `${SIGN_IN_COOKIE}=; ${attrs("/auth", 0)}`
      if (transaction === undefined) return sendJson(res, 400, { error: "sign-in", reason: "InvalidTransaction" }, { "set-cookie": clear })
      const exit = await run(signIn.complete({ callbackUrl: req.url ?? "/", transaction }))
      if (Exit.isSuccess(exit)) {
        const session = `${SESSION_COOKIE}=${Redacted.value(exit.value.session)}; ${attrs("/", 12 * 3600)}`
        res.writeHead(303, { location: exit.value.returnTo, "set-cookie": [clear, session], "cache-control": "no-store" })
        return res.end()
      }
      const error = failureOf(exit)
      if (error instanceof SignInError) {
        return sendJson(res, SIGN_IN_STATUS[error.reason] ?? 400, { error: "sign-in", reason: error.reason }, { "set-cookie": clear })
      }
      sendJson(res, 503, { error: "unavailable" }, { "set-cookie": clear })
    }

    const logout = async (req: http.IncomingMessage, res: http.ServerResponse) => {
      const cookie = cookieValue(req.headers.cookie, SESSION_COOKIE)
      const clear = `${SESSION_COOKIE}=; ${attrs("/", 0)}`
      const exit = cookie === undefined ? Exit.succeed(undefined) : await run(signIn.logout(cookie))
      if (Exit.isFailure(exit)) {
        return fromBrowser(req)
          ? html(res, 503, "clawfleet cannot reach its store right now. Try again in a moment.", { "retry-after": "1" })
          : sendJson(res, 503, { error: "unavailable" })
      }
      // A sign-out button is a form: its browser goes on to the provider's sign-out, or home.
      if (fromBrowser(req)) {
        res.writeHead(303, { location: exit.value?.href ?? "/", "set-cookie": clear, "cache-control": "no-store" })
        return void res.end()
      }
      sendJson(res, 200, exit.value === undefined ? {} : { endSessionUrl: exit.value.href }, { "set-cookie": clear })
    }

    const pairing = async (req: http.IncomingMessage, res: http.ServerResponse, tenant: string) => {
      const who = await whoIs(req)
      if (who === "down") return sendJson(res, 503, { error: "unavailable" }, { "retry-after": "1" })
      if (who === undefined) return sendJson(res, 401, { error: "unauthenticated", message: "sign in, or send an API token" })
      if (who.scopes !== undefined && !who.scopes.includes(PAIRING_SCOPE)) {
        return sendJson(res, 403, { error: "forbidden", message: `the API token lacks the scope ${PAIRING_SCOPE}` })
      }
      const admin = options.isAdmin?.(who.person) ?? false
      const exit = await run(links.create({ tenant, requester: { person: who.person.id, admin } }))
      if (Exit.isSuccess(exit))
        return sendJson(res, 200, { url: Redacted.value(exit.value.url), expiresAt: new Date(exit.value.expiresAt).toISOString() })
      const error = failureOf(exit)
      if (error instanceof PairingError) {
        return sendJson(
          res,
          PAIRING_STATUS[error.reason] ?? 400,
          { error: "pairing", reason: error.reason, message: error.detail },
          error.reason === "NotReady" ? { "retry-after": "5" } : {}
        )
      }
      if ((error as { reason?: { _tag?: string } } | undefined)?.reason?._tag === "NotFound") {
        return sendJson(res, 404, { error: "not-found", message: `no tenant "${tenant}"` })
      }
      sendJson(res, 503, { error: "unavailable" }, { "retry-after": "1" })
    }

    /**
     * The browser's way in: with a session, a fresh pairing link and a redirect to it; without
     * one, sign-in first and back here. A GET, so a plain link works; it only ever takes the
     * person to an assistant they may open, so a forged link gains an attacker nothing.
     */
    const open = async (req: http.IncomingMessage, res: http.ServerResponse, tenant: string) => {
      const who = await whoIs(req)
      if (who === "down")
        return html(res, 503, "clawfleet cannot reach its store right now. Try again in a moment.", { "retry-after": "1" })
      if (who === undefined || who.scopes !== undefined) {
        const back = `/auth/login?returnTo=${encodeURIComponent(`/tenants/${tenant}/open`)}`
        res.writeHead(302, { location: back, "cache-control": "no-store" })
        return res.end()
      }
      const admin = options.isAdmin?.(who.person) ?? false
      const exit = await run(links.create({ tenant, requester: { person: who.person.id, admin }, waitMs: options.openWaitMs ?? 20_000 }))
      if (Exit.isSuccess(exit)) {
        res.writeHead(303, { location: Redacted.value(exit.value.url), "cache-control": "no-store" })
        return res.end()
      }
      const error = failureOf(exit)
      if (error instanceof PairingError && error.reason === "NotReady") {
        // Refreshes itself: an assistant that is starting is usually up within seconds.
        return html(res, 503, `The assistant "${tenant}" is starting. This page retries by itself.`, {
          "retry-after": "3",
          refresh: "3"
        })
      }
      if (error instanceof PairingError) return html(res, PAIRING_STATUS[error.reason] ?? 400, error.detail)
      if ((error as { reason?: { _tag?: string } } | undefined)?.reason?._tag === "NotFound") {
        return html(res, 404, `There is no assistant "${tenant}".`)
      }
      html(res, 503, "clawfleet cannot reach its store right now. Try again in a moment.", { "retry-after": "1" })
    }

    return (req, res) => {
      const path = (req.url ?? "/").split("?", 1)[0] ?? "/"
      const fail = () => sendJson(res, 500, { error: "internal" })
      if (req.method === "POST" && !sameOrigin(req) && (path === "/auth/logout" || path.startsWith("/tenants/"))) {
        sendJson(res, 403, { error: "forbidden", message: "cross-origin request refused" })
        return true
      }
      const pair = /^\/tenants\/([a-z0-9][a-z0-9-]{0,62})\/pairing$/.exec(path)
      const openPath = /^\/tenants\/([a-z0-9][a-z0-9-]{0,62})\/open$/.exec(path)
      if (req.method === "GET" && path === "/auth/login") login(req, res).catch(fail)
      else if (req.method === "GET" && path === "/auth/callback") callback(req, res).catch(fail)
      else if (req.method === "POST" && path === "/auth/logout") logout(req, res).catch(fail)
      else if (req.method === "GET" && path === "/.well-known/jwks.json") {
        run(keys.jwks)
          .then((exit) =>
            Exit.isSuccess(exit)
              ? sendJson(res, 200, exit.value, { "cache-control": "public, max-age=60" })
              : sendJson(res, 503, { error: "unavailable" })
          )
          .catch(fail)
      } else if (req.method === "POST" && pair !== null) pairing(req, res, pair[1]!).catch(fail)
      else if (req.method === "GET" && openPath !== null) open(req, res, openPath[1]!).catch(fail)
      else return false
      return true
    }
  })
