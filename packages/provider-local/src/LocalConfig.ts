import { Effect, Schema } from "effect"

/** What the provider knows when it starts a tenant's gateway. */
export interface GatewayContext {
  readonly tenant: string
  /** The tenant's pinned OpenClaw version, for a command that keeps several installed. */
  readonly version: string
  /** The loopback port the gateway must listen on. */
  readonly port: number
  /** The tenant's directory: `OPENCLAW_STATE_DIR`. */
  readonly stateDir: string
  /** `<stateDir>/openclaw.json`: `OPENCLAW_CONFIG_PATH`. */
  readonly configPath: string
  /** The tenant's gateway token. */
  readonly token: string
}

/** The program to run. Its `env` comes on top of the inherited variables; the provider's own win. */
export interface GatewayLaunch {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
}

export type GatewayCommand = (context: GatewayContext) => GatewayLaunch

const isScript = (path: string) => /\.(mjs|cjs|js)$/.test(path)

/**
 * The real OpenClaw gateway: `openclaw gateway run --bind loopback --port <port> --auth token`.
 * A JavaScript entry (the npm package's `openclaw.mjs`) runs under this process's Node, because the
 * `node` on PATH may be older than OpenClaw needs. The token goes in the environment, not in
 * arguments that any local user can read.
 */
export const openclawCommand =
  (openclaw: string): GatewayCommand =>
  (context) => ({
    command: isScript(openclaw) ? process.execPath : openclaw,
    args: [
      ...(isScript(openclaw) ? [openclaw] : []),
      "gateway",
      "run",
      "--bind",
      "loopback",
      "--port",
      String(context.port),
      "--auth",
      "token"
    ],
    env: { OPENCLAW_GATEWAY_TOKEN: context.token }
  })

const Millis = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0, { message: "must be a whole number of milliseconds, 0 or more" }))
const Positive = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1, { message: "must be a whole number of milliseconds, 1 or more" }))
const Command = Schema.declare((u): u is GatewayCommand => typeof u === "function", {
  expected: "a function (context) => { command, args, env }"
})
const HttpUrl = Schema.String.check(
  Schema.makeFilter((s) => {
    try {
      const url = new URL(s)
      return url.protocol === "http:" || url.protocol === "https:" ? undefined : "must be an http(s) URL"
    } catch {
      return "must be an absolute URL"
    }
  })
)

/**
 * How tenants run on this machine. Only `dataDir` is required; everything else has a default,
 * and a decoded config is always complete.
 */
export const LocalConfig = Schema.Struct({
  /** Tenant `ada` lives in `<dataDir>/tenants/ada`. */
  dataDir: Schema.String.check(Schema.isMinLength(1, { message: "must name a directory" })),
  gateway: Schema.Struct({
    /**
     * The OpenClaw executable, or its `openclaw.mjs`, run for every tenant whatever its pinned
     * version. Without it, each tenant runs its own pinned version, installed from npm on first
     * use into `cacheDir` and shared by the tenants of that version.
     */
    openclaw: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
    /** Where pinned versions are installed: `$CLAWFLEET_OPENCLAW_CACHE`, else `~/.cache/clawfleet/openclaw`. */
    cacheDir: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))),
    /** Overrides how the gateway is started (tests start a stand-in). */
    command: Schema.optionalKey(Command)
  }).pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  /**
   * Puts the tenant agent in front of every gateway: the tenant's endpoint becomes the agent,
   * which lets people in only with a pairing link from the control plane and holds the gateway
   * token itself. It redeems pairings with the tenant's key, resolved through `Secrets` as
   * `clawfleet-tenant-<name>/agent-key`. Without it, the endpoint is the bare gateway.
   */
  agent: Schema.optionalKey(
    Schema.Struct({
      /** Where agents redeem pairings and fetch the JWKS (the control plane's `/agent/v1`). */
      controlPlaneUrl: HttpUrl,
      /** The issuer the control plane signs pairing tokens with. */
      issuer: Schema.String.check(Schema.isMinLength(1, { message: "must name the token issuer" })),
      /** How long a pairing lasts in the browser. */
      sessionHours: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThan(0, { message: "must be more than 0" })))
    })
  ),
  /** The egress proxy: `HTTPS_PROXY` and `HTTP_PROXY` of every gateway. Advisory only. */
  egressProxyUrl: Schema.optionalKey(HttpUrl),
  stopTimeoutMs: Millis.pipe(Schema.withDecodingDefaultKey(Effect.succeed(10_000))),
  readiness: Schema.Struct({
    intervalMs: Positive.pipe(Schema.withDecodingDefaultKey(Effect.succeed(500))),
    timeoutMs: Positive.pipe(Schema.withDecodingDefaultKey(Effect.succeed(2_000)))
  }).pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  restart: Schema.Struct({
    initialDelayMs: Millis.pipe(Schema.withDecodingDefaultKey(Effect.succeed(1_000))),
    maxDelayMs: Millis.pipe(Schema.withDecodingDefaultKey(Effect.succeed(30_000))),
    stableAfterMs: Millis.pipe(Schema.withDecodingDefaultKey(Effect.succeed(60_000)))
  }).pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  /**
   * The only variables of this process a gateway inherits. The server's environment holds the
   * platform's own secrets (real model keys among them), which no tenant may see.
   */
  inheritEnv: Schema.Array(Schema.String).pipe(
    Schema.withDecodingDefaultKey(Effect.succeed(["PATH", "LANG", "LC_ALL", "TZ", "NODE_EXTRA_CA_CERTS"]))
  )
})
export type LocalConfig = typeof LocalConfig.Type
export type LocalConfigInput = typeof LocalConfig.Encoded
