import type * as http from "node:http"
import { Clock, Context, DateTime, Effect, Exit } from "effect"
import { Catalog } from "../Catalog.ts"
import { Grants } from "../grants/Grants.ts"
import { SigningKeys } from "../identity/SigningKeys.ts"
import { TokenError } from "../identity/TokenError.ts"
import { Tokens } from "../identity/Tokens.ts"
import { sendJson } from "../internal/http.ts"
import { TenantGate, type TenantIdentity } from "../proxy/TenantGate.ts"
import { isDigest } from "../skills/bundle.ts"
import { SkillBundles } from "../skills/SkillBundles.ts"
import { Tenants } from "../Tenants.ts"

/** The audience of tokens meant for a tenant's agent. */
export const agentAudience = (tenant: string) => `clawfleet-agent:${tenant}`

const MAX_BODY = 16 * 1024

const safeDecode = (segment: string) => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

const readJson = (req: http.IncomingMessage): Promise<unknown> =>
  new Promise((resolve) => {
    let text = ""
    req.setEncoding("utf8")
    req.on("data", (chunk: string) => {
      text += chunk
      if (text.length > MAX_BODY) {
        req.destroy()
        resolve(undefined)
      }
    })
    req.on("end", () => {
      try {
        resolve(JSON.parse(text))
      } catch {
        resolve(undefined)
      }
    })
    req.on("error", () => resolve(undefined))
  })

const SKILLS_PATH = "/agent/v1/skills"

/** What the agent API needs from the control plane. */
export type AgentApiServices = TenantGate | Tokens | SigningKeys | Tenants | Grants | Catalog | SkillBundles

/**
 * What the control plane offers tenant agents, under `/agent/v1`: the JWKS, redeeming a pairing
 * token (single use, for this tenant only), reporting activity for idle suspend, and the skills
 * granted to the tenant with their bundles. The agent authenticates with its tenant's virtual key;
 * a key speaks for its own tenant only.
 */
export const makeAgentApi: Effect.Effect<http.RequestListener, never, AgentApiServices> = Effect.gen(function* () {
  const context = yield* Effect.context<AgentApiServices>()
  const run = Effect.runPromiseExitWith(context)
  const gate = Context.get(context, TenantGate)
  const tokens = Context.get(context, Tokens)
  const keys = Context.get(context, SigningKeys)
  const tenants = Context.get(context, Tenants)
  const grants = Context.get(context, Grants)
  const catalog = Context.get(context, Catalog)
  const bundles = Context.get(context, SkillBundles)

  // The catalog entries of the skills granted now: a revoke or a new version shows at once.
  const grantedSkills = (tenant: string) =>
    Effect.flatMap(grants.effectiveAccess(tenant), (access) =>
      Effect.map(
        Effect.forEach(access.skills, (name) => catalog.skills.find(name)),
        (found) => found.flatMap((s) => (s === undefined ? [] : [{ name: s.value.name, version: s.value.version, digest: s.value.digest }]))
      )
    )

  const unavailable = (res: http.ServerResponse) =>
    sendJson(res, 503, { error: "unavailable", message: "the control plane cannot reach its store" })

  const authenticate = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<TenantIdentity | undefined> => {
    const key = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1]
    if (key === undefined) {
      sendJson(res, 401, { error: "unauthenticated", message: "send the tenant's key as a Bearer token" })
      return undefined
    }
    const exit = await run(gate.authenticate(key))
    if (Exit.isFailure(exit)) {
      unavailable(res)
      return undefined
    }
    if (exit.value === undefined) sendJson(res, 401, { error: "unauthenticated", message: "unknown or revoked key" })
    return exit.value
  }

  return (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/"
    const go = async () => {
      if (path === "/agent/v1/jwks" && req.method === "GET") {
        const exit = await run(keys.jwks)
        return Exit.isSuccess(exit) ? sendJson(res, 200, exit.value) : unavailable(res)
      }
      if (path === "/agent/v1/pairings/redeem" && req.method === "POST") {
        const identity = await authenticate(req, res)
        if (identity === undefined) return
        const body = (await readJson(req)) as { token?: unknown } | undefined
        if (typeof body?.token !== "string") return sendJson(res, 400, { error: "invalid", message: 'send {"token": "..."}' })
        const exit = await run(tokens.redeemPairing(body.token, { audience: agentAudience(identity.tenant) }))
        if (Exit.isSuccess(exit)) {
          const claims = exit.value
          if (claims.tenant !== identity.tenant) return sendJson(res, 403, { error: "refused", reason: "WrongAudience" })
          return sendJson(res, 200, { person: claims.person, tenant: claims.tenant, expiresAt: claims.expiresAt })
        }
        const error = exit.cause.reasons.find((r) => r._tag === "Fail") as { error: unknown } | undefined
        if (error?.error instanceof TokenError) return sendJson(res, 403, { error: "refused", reason: error.error.reason })
        return unavailable(res)
      }
      if (path === "/agent/v1/activity" && req.method === "POST") {
        const identity = await authenticate(req, res)
        if (identity === undefined) return
        const exit = await run(
          Effect.flatMap(Clock.currentTimeMillis, (now) => tenants.reportActivity(identity.tenant, DateTime.makeUnsafe(now)))
        )
        if (Exit.isFailure(exit)) return unavailable(res)
        res.writeHead(204)
        return res.end()
      }
      if (path === SKILLS_PATH && req.method === "GET") {
        const identity = await authenticate(req, res)
        if (identity === undefined) return
        const exit = await run(grantedSkills(identity.tenant))
        return Exit.isSuccess(exit) ? sendJson(res, 200, exit.value) : unavailable(res)
      }
      if (path.startsWith(`${SKILLS_PATH}/`) && req.method === "GET") {
        const identity = await authenticate(req, res)
        if (identity === undefined) return
        const digest = safeDecode(path.slice(SKILLS_PATH.length + 1))
        // Not granted, not stored and malformed all look the same: the answer says nothing about
        // bundles this tenant may not have.
        const notFound = () => sendJson(res, 404, { error: "not-found", message: "no such skill bundle for this tenant" })
        if (digest === undefined || !isDigest(digest)) return notFound()
        const exit = await run(
          Effect.flatMap(grantedSkills(identity.tenant), (skills) =>
            skills.some((s) => s.digest === digest) ? bundles.get(digest) : Effect.undefined
          )
        )
        if (Exit.isFailure(exit)) return unavailable(res)
        if (exit.value === undefined) return notFound()
        const etag = `"${digest}"`
        const headers = { etag, "cache-control": "private, immutable" }
        if (req.headers["if-none-match"] === etag) {
          res.writeHead(304, headers)
          return res.end()
        }
        res.writeHead(200, { ...headers, "content-type": "application/json", "content-length": exit.value.byteLength })
        return res.end(exit.value)
      }
      sendJson(res, 404, { error: "not-found", message: `no route ${req.method} ${path}` })
    }
    go().catch(() => unavailable(res))
  }
})
