import * as http from "node:http"
import * as https from "node:https"
import { Redacted } from "effect"
import type { Dialect } from "./dialect.ts"

/** A model provider the proxy forwards to. Its key lives here, server-side, and nowhere else. */
export interface UpstreamConfig {
  /** The name catalog models refer to in `upstream`. */
  readonly name: string
  readonly dialect: Dialect
  /** The API base including its version, e.g. `https://api.openai.com/v1` or `https://api.anthropic.com/v1`. */
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted<string>
  /** Extra headers sent upstream (an organisation id, a gateway's own header). */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

export interface Upstream {
  readonly config: UpstreamConfig
  readonly request: (path: string, body: Buffer, passHeaders: Readonly<Record<string, string>>, signal: AbortSignal) => http.ClientRequest
}

// Headers a caller may pass to the upstream: API feature switches, nothing that identifies it.
export const PASSED_REQUEST_HEADERS = ["anthropic-version", "anthropic-beta", "openai-beta", "accept"] as const

// Upstream headers a caller sees; rate-limit headers describe the organisation's key, not the tenant.
export const PASSED_RESPONSE_HEADERS = ["content-type", "cache-control", "openai-processing-ms"] as const

export const makeUpstream = (config: UpstreamConfig, timeoutMs: number): Upstream => {
  const base = new URL(config.baseUrl)
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new Error(`upstream "${config.name}": baseUrl must be an http(s) URL, got ${config.baseUrl}`)
  }
  const secure = base.protocol === "https:"
  // One keep-alive pool per upstream: a TLS handshake per request would cost more than the proxy.
  const agent = secure
    ? new https.Agent({ keepAlive: true, maxSockets: 1024, scheduling: "lifo" })
    : new http.Agent({ keepAlive: true, maxSockets: 1024, scheduling: "lifo" })
  const prefix = base.pathname.replace(/\/$/, "")
  const auth: Record<string, string> =
    config.dialect === "openai"
      ? { authorization: `Bearer ${Redacted.value(config.apiKey)}` }
      : { "x-api-key": Redacted.value(config.apiKey) }
  return {
    config,
    request: (path, body, passHeaders, signal) =>
      (secure ? https : http).request({
        protocol: base.protocol,
        hostname: base.hostname,
        port: base.port === "" ? undefined : Number(base.port),
        path: prefix + path,
        method: "POST",
        agent,
        signal,
        timeout: timeoutMs,
        headers: {
          ...(config.dialect === "anthropic" ? { "anthropic-version": "2023-06-01" } : {}),
          ...passHeaders,
          ...config.headers,
          ...auth,
          "content-type": "application/json",
          "content-length": body.length
        }
      })
  }
}
