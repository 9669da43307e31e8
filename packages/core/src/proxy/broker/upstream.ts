import * as http from "node:http"
import * as https from "node:https"
import { Redacted } from "effect"

// What a tenant's MCP client may tell the tool: the transport's own headers and nothing that
// identifies the tenant. Authorization above all stays behind: it carries the virtual key.
export const PASSED_REQUEST_HEADERS = [
  "accept",
  "content-type",
  "content-length",
  "mcp-session-id",
  "mcp-protocol-version",
  "last-event-id"
] as const

// What the tenant hears back. WWW-Authenticate describes the broker's credential, not the
// tenant's, and cookies would be shared by every tenant behind the one credential.
export const PASSED_RESPONSE_HEADERS = [
  "content-type",
  "content-length",
  "cache-control",
  "mcp-session-id",
  "mcp-protocol-version",
  "allow",
  "retry-after"
] as const

export const pick = (headers: http.IncomingHttpHeaders, names: ReadonlyArray<string>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name of names) {
    const value = headers[name]
    if (typeof value === "string") out[name] = value
  }
  return out
}

export interface UpstreamCall {
  readonly url: URL
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  readonly credential: Redacted.Redacted<string> | undefined
  readonly signal: AbortSignal
}

/**
 * Opens requests to tools over one keep-alive pool per origin: MCP clients post every message
 * separately, and a TLS handshake each would cost more than the call. The pool is shared by
 * tenants, which is safe because nothing on a connection is theirs: the credential (the
 * broker's, or for a per-person tool the owner's) is sent per request, and sessions are named per
 * request by `Mcp-Session-Id`.
 */
export const makeUpstreams = () => {
  const agents = new Map<string, http.Agent>()
  const agentFor = (url: URL) => {
    let agent = agents.get(url.origin)
    if (agent === undefined) {
      const options = { keepAlive: true, maxSockets: 1024, scheduling: "lifo" } as const
      agent = url.protocol === "https:" ? new https.Agent(options) : new http.Agent(options)
      agents.set(url.origin, agent)
    }
    return agent
  }
  return {
    request: (call: UpstreamCall): http.ClientRequest =>
      (call.url.protocol === "https:" ? https : http).request(call.url, {
        method: call.method,
        agent: agentFor(call.url),
        signal: call.signal,
        headers: {
          ...call.headers,
          ...(call.credential !== undefined ? { authorization: `Bearer ${Redacted.value(call.credential)}` } : {})
        }
      }),
    /** Closes every pooled connection; requests in flight are cut. */
    close: () => {
      for (const agent of agents.values()) agent.destroy()
      agents.clear()
    }
  }
}

export type Upstreams = ReturnType<typeof makeUpstreams>
