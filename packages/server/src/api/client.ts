import { Effect } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { HttpApiClient } from "effect/http-api"
import { ClawfleetApi } from "./Api.ts"
import { SESSION_COOKIE } from "./Security.ts"

/** How the client proves who it is: an API token (scripts, the CLI) or a browser's session cookie. */
export type Credentials = { readonly apiToken: string } | { readonly session: string }

export type ClawfleetClient = HttpApiClient.ForApi<typeof ClawfleetApi>

/**
 * A typed client of the REST API, derived from the same definition as the server: every
 * operation is a method (`client.tenants.suspend({ params: { name } })`) and every problem a
 * typed error (`Effect.catchTag("PreconditionFailed", …)`). Requests go through `fetch`.
 *
 * @example
 * const client = yield* makeClient("https://clawfleet.example.com", { apiToken: process.env.CLAWFLEET_TOKEN! })
 * const { items } = yield* client.tenants.list({ query: { limit: 50 } })
 */
export const makeClient = (baseUrl: string | URL, credentials: Credentials): Effect.Effect<ClawfleetClient> =>
  HttpApiClient.make(ClawfleetApi, {
    baseUrl,
    transformClient: HttpClient.mapRequest((request) =>
      "apiToken" in credentials
        ? HttpClientRequest.bearerToken(request, credentials.apiToken)
        : HttpClientRequest.setHeader(request, "cookie", `${SESSION_COOKIE}=${credentials.session}`)
    )
  }).pipe(Effect.provide(FetchHttpClient.layer))
