import * as http from "node:http"
import { ApiTokens, Clawfleet, Fleet, listen, Sessions, SigningKeys, Tokens, withActor } from "@clawfleet/core"
import { Context, Effect, Layer, Redacted } from "effect"
import { makeScimHandler } from "../../src/scim/index.ts"
import { SCIM_SCOPE, type ScimHandlerOptions } from "../../src/scim/ScimHttp.ts"

export const USER = "urn:ietf:params:scim:schemas:core:2.0:User"
export const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
export const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
export const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

/** Everything the handler needs, over a fresh memory store. */
const layer = () =>
  Layer.mergeAll(ApiTokens.layer, Sessions.layer()).pipe(
    Layer.provideMerge(Tokens.layer({ issuer: "http://127.0.0.1" })),
    Layer.provideMerge(SigningKeys.layer()),
    Layer.provideMerge(Layer.fresh(Clawfleet.layerMemory))
  )

export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly json: any
}

/**
 * A control plane with the SCIM handler on a real loopback server, an administrator to seed it
 * and a provisioning person (`okta`) with a SCIM token, as an operator would set one up.
 */
export const startScim = (options: Partial<ScimHandlerOptions> = {}) =>
  Effect.gen(function* () {
    const ctx = yield* Layer.build(layer())
    const admin = <A, E>(e: Effect.Effect<A, E, any>) => e.pipe(Effect.provide(ctx), withActor("admin@example.com")) as Effect.Effect<A, E>
    const server = http.createServer()
    const { origin } = yield* listen(server, {})
    const handler = yield* makeScimHandler({ publicUrl: origin, ...options }).pipe(Effect.provide(ctx))
    server.on("request", (req, res) => {
      if (!handler(req, res)) res.writeHead(404, { "content-type": "text/plain" }).end("not scim")
    })
    const apiTokens = Context.get(ctx, ApiTokens)
    yield* admin(
      Context.get(ctx, Fleet).onboardPerson({
        person: { id: "okta", email: "provisioning@example.com", displayName: "Provisioning" },
        tenant: false
      })
    )
    const token = Redacted.value((yield* admin(apiTokens.create({ person: "okta", scopes: [SCIM_SCOPE], expiresInDays: 30 }))).token)

    const request = (
      method: string,
      path: string,
      body?: unknown,
      init: { readonly token?: string | null; readonly headers?: Record<string, string>; readonly raw?: string } = {}
    ) =>
      Effect.promise(async (): Promise<Answer> => {
        const headers: Record<string, string> = { accept: "application/scim+json", ...init.headers }
        const bearer = init.token === undefined ? token : init.token
        if (bearer !== null) headers.authorization = `Bearer ${bearer}`
        if (body !== undefined || init.raw !== undefined) headers["content-type"] = "application/scim+json; charset=utf-8"
        const res = await fetch(`${origin}${path}`, {
          method,
          headers,
          ...(init.raw !== undefined ? { body: init.raw } : body !== undefined ? { body: JSON.stringify(body) } : {})
        })
        const text = await res.text()
        let json: unknown = text
        try {
          json = text === "" ? undefined : JSON.parse(text)
        } catch {}
        return { status: res.status, headers: res.headers, json }
      })
    return { ctx, admin, origin, token, request }
  })
