import { Effect, Redacted } from "effect"
import * as client from "openid-client"
import { SignInError } from "./SignInError.ts"

export interface ProviderOptions {
  readonly issuer: string | URL
  readonly clientId: string
  /** Absent for a public client, which PKCE alone protects. */
  readonly clientSecret?: Redacted.Redacted<string> | undefined
  /** How a confidential client authenticates at the token endpoint. Default `client_secret_basic`. */
  readonly tokenEndpointAuthMethod?: "client_secret_basic" | "client_secret_post" | undefined
  /** Plain HTTP to the provider; only for an issuer on a loopback address (tests, local development). */
  readonly allowInsecureRequests?: boolean | undefined
}

const LOOPBACK = new Set(["127.0.0.1", "[::1]", "localhost"])

/** The issuer as a URL; dies for a plain-HTTP issuer that is not on this machine, whatever the options say. */
export const issuerUrl = (options: ProviderOptions): URL => {
  const url = new URL(options.issuer)
  if (url.protocol !== "https:" && !(options.allowInsecureRequests === true && LOOPBACK.has(url.hostname))) {
    throw new Error(`OIDC issuer ${url.href} must be https (allowInsecureRequests is only for loopback issuers)`)
  }
  return url
}

const clientAuth = (options: ProviderOptions): client.ClientAuth => {
  if (options.clientSecret === undefined) return client.None()
  const secret = Redacted.value(options.clientSecret)
  return options.tokenEndpointAuthMethod === "client_secret_post" ? client.ClientSecretPost(secret) : client.ClientSecretBasic(secret)
}

const describe = (error: { readonly error: string; readonly error_description?: string | undefined }) =>
  error.error_description === undefined ? error.error : `${error.error}: ${error.error_description}`

/** openid-client's failures in the words of SignInError: what the provider refused, and what may pass. */
export const toSignInError = (error: unknown): SignInError => {
  if (error instanceof SignInError) return error
  if (error instanceof client.AuthorizationResponseError) {
    return SignInError.of("ProviderError", `the provider answered ${describe(error)}`, error)
  }
  if (error instanceof client.ResponseBodyError) {
    return SignInError.of(error.status >= 500 ? "Unavailable" : "ProviderError", `the provider refused: ${describe(error)}`, error)
  }
  if (error instanceof client.ClientError) {
    if (error.code === "OAUTH_TIMEOUT" || error.code === "OAUTH_ABORT") {
      return SignInError.of("Unavailable", "the provider did not answer in time", error)
    }
    if (error.cause instanceof Response && error.cause.status >= 500) {
      return SignInError.of("Unavailable", `the provider answered HTTP ${error.cause.status}`, error)
    }
    // The interesting words (which claim, which check) are in the cause.
    const why = error.cause instanceof Error ? error.cause.message : error.message
    return SignInError.of("ProviderError", `the provider's answer does not verify: ${why}`, error)
  }
  // fetch's own failures are bare TypeErrors; openid-client's argument checks carry a code.
  if (error instanceof TypeError && !("code" in error)) {
    return SignInError.of("Unavailable", "the provider cannot be reached", error)
  }
  return SignInError.of("ProviderError", "talking to the provider failed", error)
}

/**
 * The provider's configuration, discovered on first use rather than at start, so a server comes
 * up while its provider is down. A success is kept; a failure is tried again by the next call.
 */
export const makeDiscovery = (options: ProviderOptions): Effect.Effect<client.Configuration, SignInError> => {
  const issuer = issuerUrl(options)
  const insecure = options.allowInsecureRequests === true && issuer.protocol === "http:"
  const discover = Effect.tryPromise({
    try: () =>
      client.discovery(
        issuer,
        options.clientId,
        options.clientSecret === undefined ? undefined : Redacted.value(options.clientSecret),
        clientAuth(options),
        { execute: insecure ? [client.allowInsecureRequests] : [], timeout: 10 }
      ),
    catch: toSignInError
  })
  let found: client.Configuration | undefined
  return Effect.suspend(() =>
    found !== undefined
      ? Effect.succeed(found)
      : Effect.map(discover, (c) => {
          found = c
          return c
        })
  )
}
