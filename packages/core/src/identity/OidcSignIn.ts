import { randomBytes } from "node:crypto"
import { Clock, Context, Effect, Layer, Option, Redacted } from "effect"
import * as client from "openid-client"
import type { Directory } from "../Directory.ts"
import type { Person } from "../domain/Directory.ts"
import type { StoreError } from "../Errors.ts"
import { Fleet } from "../Fleet.ts"
import { withActor } from "../RequestContext.ts"
import { makePeopleByEmail } from "../store/peopleByEmail.ts"
import type { RecordStore } from "../store/RecordStore.ts"
import { type Claims, emailOf, type GroupMapping, groupsOf, missingClaims, placementPatch } from "./oidc/claims.ts"
import { makeDiscovery, type ProviderOptions, toSignInError } from "./oidc/provider.ts"
import { SignInError } from "./oidc/SignInError.ts"
import { makeReplayGuard, makeSealer, safeReturnTo, TRANSACTION_TTL_MILLIS } from "./oidc/transaction.ts"
import { type SessionOptions, Sessions } from "./Sessions.ts"

export interface OidcSignInOptions extends ProviderOptions {
  /** Registered with the provider; where `complete` is mounted. */
  readonly redirectUri: string | URL
  /** Where the provider sends the browser after logout; registered with the provider too. */
  readonly postLogoutRedirectUri?: string | URL | undefined
  /** Default `openid email profile`; `openid` is always asked for. */
  readonly scopes?: ReadonlyArray<string> | undefined
  /** Places people in teams and departments by their provider groups; nothing is changed without it. */
  readonly groups?: GroupMapping | undefined
  readonly sessions?: SessionOptions | undefined
  /** Accept e-mail addresses the provider has not verified. Default false: anyone could claim any address. */
  readonly allowUnverifiedEmail?: boolean | undefined
  /**
   * Keys the sealed transaction. Give every replica the same one so any of them can complete a
   * sign-in another began; when absent a random key is made per process.
   */
  readonly transactionSecret?: Redacted.Redacted<string> | undefined
}

export interface BegunSignIn {
  /** Send the browser here. */
  readonly authorizationUrl: URL
  /** Keep it in a short-lived, httpOnly cookie and hand it back to `complete`. */
  readonly transaction: string
  /** The cookie's Max-Age: the transaction is refused after it. */
  readonly maxAgeSeconds: number
}

export interface CompletedSignIn {
  /** The session cookie's value. */
  readonly session: Redacted.Redacted<string>
  readonly person: Person
  /** A path on our own origin to send the browser to. */
  readonly returnTo: string
}

/**
 * Signs people in with an OpenID Connect provider: authorization code with PKCE (S256), state and
 * nonce, then a session in the store. Only people already onboarded may sign in, matched by their
 * e-mail address; the provider's groups may place them in teams and departments. Not tied to an
 * HTTP framework: the server passes URLs and cookie values in and out.
 */
export class OidcSignIn extends Context.Service<
  OidcSignIn,
  {
    /** `returnTo` that is not a path on our own origin becomes `/`. */
    readonly begin: (input?: { readonly returnTo?: string | undefined }) => Effect.Effect<BegunSignIn, SignInError>
    /** `callbackUrl` is the URL the provider redirected to (a path with its query will do). */
    readonly complete: (input: {
      readonly callbackUrl: string | URL
      readonly transaction: string
    }) => Effect.Effect<CompletedSignIn, SignInError | StoreError>
    /** Ends the session; returns the provider's logout URL to send the browser to, when it has one. */
    readonly logout: (session: string | Redacted.Redacted<string>) => Effect.Effect<URL | undefined, StoreError>
  }
>()("@clawfleet/core/OidcSignIn") {
  /** Provides `Sessions` too, configured by `options.sessions`. */
  static layer(options: OidcSignInOptions): Layer.Layer<OidcSignIn | Sessions, never, Fleet | Directory | RecordStore> {
    return Layer.effect(OidcSignIn, makeOidcSignIn(options)).pipe(Layer.provideMerge(Sessions.layer(options.sessions)))
  }
}

const makeOidcSignIn = (options: OidcSignInOptions) =>
  Effect.gen(function* () {
    const fleet = yield* Fleet
    const sessions = yield* Sessions
    const configuration = yield* Effect.try(() => makeDiscovery(options)).pipe(Effect.orDie)
    const redirectUri = new URL(options.redirectUri).href
    const scope = [...new Set(["openid", ...(options.scopes ?? ["email", "profile"])])].join(" ")
    const actor = `oidc:${new URL(options.issuer).href.replace(/\/$/, "")}`
    const secret = options.transactionSecret === undefined ? randomBytes(32) : Buffer.from(Redacted.value(options.transactionSecret))
    const sealer = makeSealer(secret, `${new URL(options.issuer).href} ${options.clientId} ${redirectUri}`)
    const replays = makeReplayGuard()

    // Looked up by e-mail at every sign-in.
    const byEmail = yield* makePeopleByEmail

    const personFor = Effect.fnUntraced(function* (email: string) {
      const found = (yield* byEmail).get(email) ?? []
      if (found.length === 0) return yield* SignInError.of("NotOnboarded", "nobody with this e-mail address has been onboarded")
      if (found.length > 1) return yield* SignInError.of("AmbiguousEmail", "more than one person has this e-mail address")
      if (found[0]!.disabled) return yield* SignInError.of("Disabled", "this person has been offboarded")
      return found[0]!
    })

    // The ID token is what was verified; UserInfo only fills in claims it left out.
    const claimsOf = Effect.fnUntraced(function* (config: client.Configuration, tokens: client.TokenEndpointResponse, idToken: Claims) {
      if (!missingClaims(idToken, options.groups) || config.serverMetadata().userinfo_endpoint === undefined) return idToken
      const info = yield* Effect.tryPromise({
        try: () => client.fetchUserInfo(config, tokens.access_token, idToken.sub as string),
        catch: toSignInError
      })
      return { ...info, ...idToken } as Claims
    })

    const place = Effect.fnUntraced(function* (person: Person, claims: Claims) {
      if (options.groups === undefined) return person
      const groups = groupsOf(claims, options.groups)
      if (groups === undefined) return person
      const patch = placementPatch(person, groups, options.groups)
      if (patch === undefined) return person
      // A mapping that names a team or department nobody created must not lock people out.
      return yield* fleet
        .updatePerson(person.id, patch)
        .pipe(
          Effect.catchTag("ValidationError", (e) =>
            Effect.as(Effect.logWarning(`OIDC group mapping not applied to ${person.id}: ${e.message}`), person)
          )
        )
    })

    const complete = Effect.fn("OidcSignIn.complete")(function* (input: {
      readonly callbackUrl: string | URL
      readonly transaction: string
    }) {
      const now = yield* Clock.currentTimeMillis
      const opened = sealer.open(input.transaction, now)
      if (opened._tag !== "Opened") {
        return yield* opened._tag === "Expired"
          ? SignInError.of("Expired", "the sign-in took too long; start again")
          : SignInError.of("InvalidTransaction", "this is not a sign-in this server started")
      }
      const tx = opened.transaction
      const params = new URL(input.callbackUrl, redirectUri).searchParams
      if (params.get("state") !== tx.state) {
        return yield* SignInError.of("StateMismatch", "the provider's answer is for another sign-in")
      }
      if (!replays.claim(tx.state, tx.issuedAt + TRANSACTION_TTL_MILLIS, now)) {
        return yield* SignInError.of("InvalidTransaction", "this sign-in was already completed")
      }
      const config = yield* configuration
      // Our redirect URI, not whatever host the request came in on: the token request must repeat it exactly.
      const current = new URL(redirectUri)
      current.search = params.toString()
      const tokens = yield* Effect.tryPromise({
        try: () =>
          client.authorizationCodeGrant(config, current, {
            pkceCodeVerifier: tx.codeVerifier,
            expectedState: tx.state,
            expectedNonce: tx.nonce,
            idTokenExpected: true
          }),
        catch: toSignInError
      })
      const claims = yield* claimsOf(config, tokens, tokens.claims() as Claims)
      const email = emailOf(claims, options.allowUnverifiedEmail === true)
      if (typeof email !== "string") return yield* email
      const found = yield* personFor(email)
      return yield* Effect.gen(function* () {
        const person = yield* place(found, claims)
        const issued = yield* sessions.create(person.id)
        return { session: issued.token, person, returnTo: safeReturnTo(tx.returnTo) }
      }).pipe(withActor(actor))
    })

    return OidcSignIn.of({
      begin: Effect.fn("OidcSignIn.begin")(function* (input) {
        const config = yield* configuration
        const state = client.randomState()
        const nonce = client.randomNonce()
        const codeVerifier = client.randomPKCECodeVerifier()
        const codeChallenge = yield* Effect.promise(() => client.calculatePKCECodeChallenge(codeVerifier))
        const authorizationUrl = client.buildAuthorizationUrl(config, {
          redirect_uri: redirectUri,
          response_type: "code",
          scope,
          state,
          nonce,
          code_challenge: codeChallenge,
          code_challenge_method: "S256"
        })
        const issuedAt = yield* Clock.currentTimeMillis
        const transaction = sealer.seal({ state, nonce, codeVerifier, returnTo: safeReturnTo(input?.returnTo), issuedAt })
        return { authorizationUrl, transaction, maxAgeSeconds: TRANSACTION_TTL_MILLIS / 1000 }
      }),
      complete,
      logout: Effect.fn("OidcSignIn.logout")(function* (session) {
        yield* sessions.revoke(session)
        // Signed out here is what matters; an unreachable provider only costs the redirect.
        const config = yield* Effect.option(configuration)
        if (Option.isNone(config) || config.value.serverMetadata().end_session_endpoint === undefined) return undefined
        const post = options.postLogoutRedirectUri
        return client.buildEndSessionUrl(config.value, post === undefined ? {} : { post_logout_redirect_uri: new URL(post).href })
      })
    })
  })
