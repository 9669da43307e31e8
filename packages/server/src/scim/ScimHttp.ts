import { randomUUID } from "node:crypto"
import type * as http from "node:http"
import { ApiTokens, withActor } from "@clawfleet/core"
import { Cause, Context, Effect, Exit, Option } from "effect"
import { listResponse, resourceTypes, SCIM_SCOPE, schemaDocuments, serviceProviderConfig } from "./discovery.ts"
import { type Json, keyOf } from "./paths.ts"
import { makeScim, type ScimOptions, type ScimResource, type ScimServices } from "./Scim.ts"
import { ScimError } from "./ScimError.ts"

export { SCIM_SCOPE } from "./discovery.ts"

export interface ScimHandlerOptions extends ScimOptions {
  /** The largest request body accepted; default 1 MiB (a group PATCH adding a few thousand people). */
  readonly maxBodyBytes?: number | undefined
}

export const SCIM_PREFIX = "/scim/v2"
const CONTENT_TYPE = "application/scim+json"

const send = (res: http.ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) => {
  if (body === undefined) {
    res.writeHead(status, { "cache-control": "no-store", ...headers })
    return void res.end()
  }
  const text = JSON.stringify(body)
  res.writeHead(status, {
    "content-type": CONTENT_TYPE,
    "content-length": String(Buffer.byteLength(text)),
    "cache-control": "no-store",
    ...headers
  })
  res.end(text)
}

const sendError = (res: http.ServerResponse, error: ScimError, headers: Record<string, string> = {}) =>
  send(res, error.status, error.body, error.status === 503 ? { "retry-after": "1", ...headers } : headers)

const readBody = (req: http.IncomingMessage, limit: number): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    // Past the limit the rest is read and dropped, so the 413 still reaches the client.
    let over = false
    req.on("data", (chunk: Buffer) => {
      if (over) return
      size += chunk.length
      if (size <= limit) return void chunks.push(chunk)
      over = true
      chunks.length = 0
      reject(ScimError.of(413, `the body is larger than ${limit} bytes`))
    })
    req.on("error", reject)
    req.on("end", () => {
      if (over) return
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")))
      } catch {
        reject(ScimError.invalidSyntax("the body is not JSON"))
      }
    })
  })

/** `attributes` and `excludedAttributes`, at the top level: Entra ID asks for groups without `members`. */
const projection = (query: URLSearchParams) => {
  const names = (param: string) =>
    (query.get(param) ?? "")
      .split(",")
      .map(
        (a) =>
          a
            .trim()
            .replace(/^urn:ietf:params:scim:schemas:core:2\.0:(User|Group):/i, "")
            .split(".")[0]!
      )
      .filter((a) => a !== "")
  const only = names("attributes")
  const without = names("excludedAttributes")
  return (resource: Json): Json => {
    const out = { ...resource }
    for (const name of without) {
      const key = keyOf(out, name)
      if (key !== undefined && key !== "id" && key !== "schemas") delete out[key]
    }
    if (only.length === 0) return out
    const keep = new Set(["id", "schemas", "meta", ...only.map((n) => keyOf(out, n)).filter((k) => k !== undefined)])
    return Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)))
  }
}

const numberParam = (query: URLSearchParams, name: string) => {
  const raw = query.get(name)
  const n = raw === null ? Number.NaN : Number(raw)
  return Number.isFinite(n) ? n : undefined
}

/**
 * SCIM 2.0 provisioning (RFC 7643/7644) on any node:http server, as Okta and Entra ID push
 * joiners, movers and leavers: `/scim/v2/Users`, `/scim/v2/Groups` and the discovery documents.
 * Every request needs an API token with the scope `scim:provision`; writes are audited as
 * `scim:<the token's person>`. Answers false for paths outside `/scim/v2/`, so the server can
 * route on.
 */
export const makeScimHandler = (
  options: ScimHandlerOptions
): Effect.Effect<(req: http.IncomingMessage, res: http.ServerResponse) => boolean, never, ScimServices> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<ScimServices>()
    const run = Effect.runPromiseExitWith(context)
    const apiTokens = Context.get(context, ApiTokens)
    const scim = yield* makeScim(options)
    const base = scim.base
    const limit = options.maxBodyBytes ?? 1024 * 1024

    /** The token's person, or the answer already sent. */
    const authenticate = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<string | undefined> => {
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1]
      const challenge = (error?: string) => ({ "www-authenticate": error === undefined ? "Bearer" : `Bearer error="${error}"` })
      if (bearer === undefined) return void sendError(res, ScimError.of(401, "send an API token as Authorization: Bearer"), challenge())
      const exit = await run(apiTokens.verify(bearer))
      if (Exit.isFailure(exit)) {
        const error = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
        if (error?._tag === "TokenError") return void sendError(res, ScimError.of(401, error.detail), challenge("invalid_token"))
        return void sendError(res, ScimError.of(503, "the token cannot be checked right now"))
      }
      if (!exit.value.scopes.includes(SCIM_SCOPE)) {
        return void sendError(res, ScimError.of(403, `the API token lacks the scope ${SCIM_SCOPE}`))
      }
      return exit.value.person
    }

    const serve = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
      const person = await authenticate(req, res)
      if (person === undefined) return
      const requestId = typeof req.headers["x-request-id"] === "string" ? req.headers["x-request-id"].slice(0, 200) : randomUUID()
      const segments = url.pathname
        .slice(SCIM_PREFIX.length)
        .split("/")
        .filter((s) => s !== "")
      const [collection, rawId, ...extra] = segments
      let id: string | undefined
      try {
        id = rawId === undefined ? undefined : decodeURIComponent(rawId)
      } catch {
        return sendError(res, ScimError.of(404, "no such resource"))
      }
      const method = req.method ?? "GET"
      const ifMatch = typeof req.headers["if-match"] === "string" ? req.headers["if-match"] : undefined
      const project = projection(url.searchParams)
      const listQuery = {
        filter: url.searchParams.get("filter") ?? undefined,
        startIndex: numberParam(url.searchParams, "startIndex"),
        count: numberParam(url.searchParams, "count")
      }
      const notAllowed = (allow: string) => sendError(res, ScimError.of(405, `${method} is not allowed here; use ${allow}`), { allow })

      // Runs an operation as the token's person and answers with its outcome.
      const answer = async <A>(effect: Effect.Effect<A, ScimError, ScimServices>, reply: (a: A) => void) => {
        const exit = await run(effect.pipe(withActor(`scim:${person}`, requestId)))
        if (Exit.isSuccess(exit)) return reply(exit.value)
        const error = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
        if (error instanceof ScimError) return sendError(res, error)
        await run(Effect.logError("SCIM request failed", exit.cause))
        sendError(res, ScimError.of(500, "internal error"))
      }
      const one = (status: number) => (r: ScimResource) =>
        send(res, status, project(r.body), { etag: r.version, ...(status === 201 ? { location: r.location } : {}) })
      const list = (body: ReturnType<typeof listResponse>) =>
        send(res, 200, { ...body, Resources: body.Resources.map((r) => project(r as Json)) })
      const body = async () => readBody(req, limit)

      const name = collection?.toLowerCase()
      if (extra.length > 0) return sendError(res, ScimError.of(404, "no such resource"))
      if (name === "serviceproviderconfig" && id === undefined) {
        return method === "GET" ? send(res, 200, serviceProviderConfig(base)) : notAllowed("GET")
      }
      if (name === "resourcetypes" || name === "schemas") {
        if (method !== "GET") return notAllowed("GET")
        const docs: ReadonlyArray<{ readonly id: string }> = name === "resourcetypes" ? resourceTypes(base) : schemaDocuments(base)
        if (id === undefined) return send(res, 200, listResponse(docs, docs.length, 1))
        const doc = docs.find((d) => d.id === id)
        return doc === undefined ? sendError(res, ScimError.of(404, `no ${collection} ${JSON.stringify(id)}`)) : send(res, 200, doc)
      }
      if (name === "users" || name === "groups") {
        const users = name === "users"
        if (id === undefined) {
          if (method === "GET") return answer(users ? scim.listUsers(listQuery) : scim.listGroups(listQuery), list)
          if (method === "POST") {
            const input = await body()
            return answer(users ? scim.createUser(input) : scim.createGroup(input), one(201))
          }
          return notAllowed("GET, POST")
        }
        switch (method) {
          case "GET":
            return answer(users ? scim.getUser(id) : scim.getGroup(id), one(200))
          case "PUT": {
            const input = await body()
            return answer(users ? scim.replaceUser(id, input, ifMatch) : scim.replaceGroup(id, input, ifMatch), one(200))
          }
          case "PATCH": {
            const input = await body()
            return answer(users ? scim.patchUser(id, input, ifMatch) : scim.patchGroup(id, input, ifMatch), one(200))
          }
          case "DELETE":
            return answer(users ? scim.deleteUser(id, ifMatch) : scim.deleteGroup(id, ifMatch), () => send(res, 204))
          default:
            return notAllowed("GET, PUT, PATCH, DELETE")
        }
      }
      if (name === "bulk" || name === "me") return sendError(res, ScimError.of(501, `/${collection} is not supported`))
      sendError(res, ScimError.of(404, "no such resource"))
    }

    return (req, res) => {
      const url = new URL(req.url ?? "/", "http://scim.invalid")
      if (url.pathname !== SCIM_PREFIX && !url.pathname.startsWith(`${SCIM_PREFIX}/`)) return false
      serve(req, res, url).catch((error: unknown) => {
        if (res.headersSent) return void res.end()
        sendError(res, error instanceof ScimError ? error : ScimError.of(500, "internal error"))
      })
      return true
    }
  })
