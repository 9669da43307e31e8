import { TenantAgent } from "@clawfleet/core"
import { Cause, Context, Effect, Layer, type Redacted, type Scope } from "effect"

export interface AgentHandle {
  readonly url: string
  readonly port: number
}

export interface LocalAgentOptions {
  readonly tenant: string
  readonly controlPlaneUrl: string
  readonly issuer: string
  readonly tenantKey: Redacted.Redacted<string>
  readonly sessionHours?: number | undefined
  readonly port: number
  readonly gatewayToken: Redacted.Redacted<string>
  /** Where the gateway listens now; undefined while it has no port. */
  readonly gatewayPort: () => number | undefined
  readonly skillsDir: string
}

/**
 * The tenant agent for one local gateway, in this process and in `scope`: closing the scope
 * closes it and every connection through it. It speaks plain HTTP on loopback, so its cookie
 * cannot be `Secure`; browsers count 127.0.0.1 as a secure context anyway.
 */
export const startAgent = (options: LocalAgentOptions, scope: Scope.Scope): Effect.Effect<AgentHandle, string> =>
  Layer.buildWithScope(
    TenantAgent.layer({
      tenant: options.tenant,
      controlPlaneUrl: options.controlPlaneUrl,
      issuer: options.issuer,
      tenantKey: options.tenantKey,
      gateway: {
        url: () => {
          const port = options.gatewayPort()
          return port === undefined ? undefined : `http://127.0.0.1:${port}`
        },
        token: options.gatewayToken
      },
      host: "127.0.0.1",
      port: options.port,
      secureCookie: false,
      sessionHours: options.sessionHours,
      skillsDir: options.skillsDir
    }),
    scope
  ).pipe(
    Effect.map((context) => {
      const agent = Context.get(context, TenantAgent)
      return { url: agent.url, port: agent.port }
    }),
    Effect.catchCause((cause) => Effect.fail(Cause.pretty(cause)))
  )
