import * as http from "node:http"
import type { Duplex } from "node:stream"
import { Context, Effect, Layer, Redacted, Schedule, Semaphore } from "effect"
import { createRemoteJWKSet, jwtVerify } from "jose"
import { cookieValue } from "../internal/http.ts"
import { listen } from "../internal/listen.ts"
import { agentAudience } from "./AgentApi.ts"
import { gatewayHeaders, isForwardedHeader, proxyHttp, proxyUpgrade } from "./gateway.ts"
import { SkillSyncError, type SkillSyncReport, syncSkills } from "./SkillSync.ts"
import { AgentSessions, withoutCookie } from "./sessions.ts"

export interface TenantAgentOptions {
  readonly tenant: string
  /** The control plane's base URL, e.g. `https://clawfleet.example.com`. */
  readonly controlPlaneUrl: string
  /** The issuer the control plane signs with (its `Tokens` issuer). */
  readonly issuer: string
  /** The tenant's own virtual key: it redeems pairings and reports activity as this tenant. */
  readonly tenantKey: Redacted.Redacted<string>
  /** The OpenClaw gateway on loopback, and the token it requires; the browser never sees it. */
  readonly gateway: {
    /**
     * `http://127.0.0.1:<port>`, or where it is now when it can move (a local gateway may get
     * another port when it restarts); undefined while it has none.
     */
    readonly url: string | (() => string | undefined)
    readonly token: Redacted.Redacted<string>
    /**
     * The header that names the paired person to the gateway. Default `x-clawfleet-person`. It may
     * not be a forwarding header (`forwarded`, `x-real-ip`, `x-forwarded-*`): OpenClaw takes a
     * loopback request carrying one for a request relayed by a proxy it cannot attribute, and in
     * token mode refuses it, so the agent never sends one.
     */
    readonly userHeader?: string | undefined
  }
  /** Default 127.0.0.1. */
  readonly host?: string | undefined
  /** Default 0: any free port. */
  readonly port?: number | undefined
  /** Default `true`: only over HTTPS. Set false for a loopback development setup. */
  readonly secureCookie?: boolean | undefined
  /** How long a pairing lasts in the browser. Default 12 hours. */
  readonly sessionHours?: number | undefined
  /** Activity is reported at most this often. Default 60 s. */
  readonly activityIntervalMs?: number | undefined
  /** Where granted skills are synced to (OpenClaw's extra skills directory). No sync without it. */
  readonly skillsDir?: string | undefined
  /** How often skills are synced, after the first sync at start. Default 60 s. */
  readonly skillSyncIntervalMs?: number | undefined
}

/** The session cookie is `cf_agent_<tenant>`. */
export const SESSION_COOKIE = "cf_agent"
export const PAIR_PATH = "/clawfleet/pair"
export const HEALTH_PATH = "/clawfleet/health"

const text = (res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers })
  res.end(body)
}

/**
 * The tenant agent: the only door to a tenant's assistant. A person arrives with a pairing link
 * from the control plane; the agent checks its signature against the control plane's JWKS, has it
 * redeemed there (once, for this tenant), and sets an httpOnly session cookie. From then on it
 * proxies HTTP and WebSocket to the OpenClaw gateway on loopback with the gateway's own token, and
 * refuses everything without a session.
 */
export const makeTenantAgent = (options: TenantAgentOptions) => {
  const controlPlane = new URL(options.controlPlaneUrl)
  const gatewayAt = (url: string) => {
    const parsed = new URL(url)
    if (parsed.protocol !== "http:") throw new Error("TenantAgent: the gateway must be plain http on loopback")
    return parsed
  }
  const where = options.gateway.url
  const currentGateway: () => URL | undefined =
    typeof where === "string"
      ? (
          (fixed) => () =>
            fixed
        )(gatewayAt(where))
      : () => {
          const now = where()
          return now === undefined ? undefined : gatewayAt(now)
        }
  // Per tenant: agents of one machine share the host 127.0.0.1, and cookies ignore ports.
  const cookieName = `${SESSION_COOKIE}_${options.tenant}`
  const jwks = createRemoteJWKSet(new URL("/agent/v1/jwks", controlPlane), { cooldownDuration: 30_000 })
  const sessions = new AgentSessions((options.sessionHours ?? 12) * 3_600_000)
  const agent = new http.Agent({ keepAlive: true })
  const audience = agentAudience(options.tenant)
  const userHeader = options.gateway.userHeader ?? "x-clawfleet-person"
  if (isForwardedHeader(userHeader)) throw new Error(`TenantAgent: the gateway would refuse requests carrying ${userHeader}`)
  const secure = options.secureCookie ?? true
  const activityEvery = options.activityIntervalMs ?? 60_000
  let lastActivity = 0

  const controlPlaneCall = (path: string, body: unknown) =>
    fetch(new URL(path, controlPlane), {
      method: "POST",
      headers: { authorization: `Bearer ${Redacted.value(options.tenantKey)}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000)
    })

  const reportActivity = () => {
    const now = Date.now()
    if (now - lastActivity < activityEvery) return
    lastActivity = now
    controlPlaneCall("/agent/v1/activity", {}).catch(() => {
      lastActivity = 0
    })
  }

  const pair = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const token = new URL(req.url ?? "/", "http://agent").searchParams.get("token")
    if (token === null || token.length > 4096) return text(res, 400, "This pairing link is incomplete.")
    try {
      // Checked here first, so a forged or stale link costs the control plane nothing.
      await jwtVerify(token, jwks, { issuer: options.issuer, audience, algorithms: ["EdDSA"], clockTolerance: 5 })
    } catch {
      return text(res, 403, "This pairing link is not valid for this assistant, or it has expired. Ask for a new one.")
    }
    const redeemed = await controlPlaneCall("/agent/v1/pairings/redeem", { token }).catch(() => undefined)
    if (redeemed === undefined || redeemed.status >= 500) return text(res, 503, "The control plane cannot be reached. Try again shortly.")
    const body = (await redeemed.json().catch(() => ({}))) as { person?: string; reason?: string }
    if (redeemed.status !== 200 || typeof body.person !== "string") {
      return text(
        res,
        403,
        body.reason === "Reused" ? "This pairing link was already used. Ask for a new one." : "This pairing link was refused."
      )
    }
    const cookie = sessions.open(body.person, Date.now())
    const attributes = [
      `${cookieName}=${cookie}`,
      "HttpOnly",
      "SameSite=Strict",
      "Path=/",
      `Max-Age=${(options.sessionHours ?? 12) * 3600}`
    ]
    if (secure) attributes.push("Secure")
    res.writeHead(303, { location: "/", "set-cookie": attributes.join("; "), "cache-control": "no-store" })
    res.end()
  }

  const request: http.RequestListener = (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0]
    if (path === HEALTH_PATH) return text(res, 200, "ok")
    if (path === PAIR_PATH && req.method === "GET") {
      pair(req, res).catch(() => text(res, 500, "Pairing failed."))
      return
    }
    const session = sessions.find(cookieValue(req.headers.cookie, cookieName), Date.now())
    if (session === undefined) return text(res, 401, "Open this assistant through a pairing link from clawfleet.")
    const gateway = currentGateway()
    if (gateway === undefined) return text(res, 503, "The assistant is not running yet. Try again in a moment.", { "retry-after": "2" })
    reportActivity()
    proxyHttp(
      req,
      res,
      gateway,
      gatewayHeaders(req, withoutCookie(req.headers.cookie, cookieName), Redacted.value(options.gateway.token), gateway.host, {
        header: userHeader,
        person: session.person
      }),
      agent
    )
  }

  // Upgraded sockets leave the server's bookkeeping: closing the agent must still end them.
  const tunnels = new Set<Duplex>()
  const upgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    tunnels.add(socket)
    socket.once("close", () => tunnels.delete(socket))
    const session = sessions.find(cookieValue(req.headers.cookie, cookieName), Date.now())
    if (session === undefined) {
      socket.end("HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
      return
    }
    const gateway = currentGateway()
    if (gateway === undefined) {
      socket.end("HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
      return
    }
    reportActivity()
    proxyUpgrade(
      req,
      socket,
      head,
      gateway,
      gatewayHeaders(req, withoutCookie(req.headers.cookie, cookieName), Redacted.value(options.gateway.token), gateway.host, {
        header: userHeader,
        person: session.person
      }),
      Redacted.value(options.gateway.token)
    )
  }

  return { request, upgrade, sessions, tunnels }
}

export class TenantAgent extends Context.Service<
  TenantAgent,
  {
    readonly url: string
    readonly port: number
    readonly endSessions: () => void
    /** Syncs skills now rather than at the next round; fails with NotConfigured without a `skillsDir`. */
    readonly syncSkills: () => Effect.Effect<SkillSyncReport, SkillSyncError>
  }
>()("@clawfleet/core/TenantAgent") {
  /**
   * Listens on `host:port`; closing the scope closes it and every proxied connection. With a
   * `skillsDir`, it also syncs the tenant's granted skills there, at start and then periodically.
   */
  static layer(options: TenantAgentOptions): Layer.Layer<TenantAgent> {
    return Layer.effect(
      TenantAgent,
      Effect.gen(function* () {
        const handlers = makeTenantAgent(options)
        const server = http.createServer({ requestTimeout: 0 }, handlers.request)
        server.on("upgrade", handlers.upgrade)
        // Upgraded sockets leave the server's bookkeeping: closing must end them itself.
        const { origin, port } = yield* listen(server, options, () => {
          for (const socket of handlers.tunnels) socket.destroy()
        })
        const skillSync = yield* makeSkillSync(options)
        return TenantAgent.of({
          url: origin,
          port,
          endSessions: () => handlers.sessions.clear(),
          syncSkills: skillSync
        })
      })
    )
  }
}

/** The skill sync loop; one sync at a time, so a triggered sync never races a periodic one on disk. */
const makeSkillSync = Effect.fnUntraced(function* (options: TenantAgentOptions) {
  const skillsDir = options.skillsDir
  if (skillsDir === undefined) {
    return () => Effect.fail(new SkillSyncError({ reason: "NotConfigured", detail: "the agent was started without a skills directory" }))
  }
  const lock = yield* Semaphore.make(1)
  const syncNow = () => lock.withPermit(syncSkills({ controlPlaneUrl: options.controlPlaneUrl, tenantKey: options.tenantKey, skillsDir }))
  // The assistant keeps running on the skills it has: a failed round is logged and the next one retries.
  const round = syncNow().pipe(
    Effect.tap((report) =>
      Effect.all([
        report.installed.length + report.removed.length > 0
          ? Effect.logInfo("skills synced", { installed: report.installed.map((s) => `${s.name}@${s.version}`), removed: report.removed })
          : Effect.void,
        Effect.forEach(report.failed, (f) => Effect.logWarning(`skill ${f.name} not synced: ${f.reason}`), { discard: true })
      ])
    ),
    Effect.catch((e) => Effect.logWarning(e.message)),
    Effect.catchDefect((d) => Effect.logError("skill sync crashed", d))
  )
  yield* Effect.forkScoped(Effect.repeat(round, Schedule.spaced(options.skillSyncIntervalMs ?? 60_000)))
  return syncNow
})
