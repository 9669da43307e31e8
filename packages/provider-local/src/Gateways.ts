import { SecretEnv, type Secrets } from "@clawfleet/core"
import { Effect, Option, Redacted, type Scope } from "effect"
import { layoutOf, readIfExists, writeAtomically } from "./internal/files.ts"
import { choosePort } from "./internal/ports.ts"
import type { GatewayCommand, LocalConfig } from "./LocalConfig.ts"
import { NO_PROXY, needsRestart, type ProcessSpec } from "./resources.ts"
import { type Supervisor, supervise } from "./Supervisor.ts"

export interface Gateway {
  /** What the running gateway was started for. */
  readonly spec: ProcessSpec
  readonly supervisor: Supervisor
}

export interface GatewaysOptions {
  readonly config: LocalConfig
  /** Absolute. */
  readonly dataDir: string
  readonly command: GatewayCommand
  readonly secrets: Option.Option<Secrets["Service"]>
  /** Where the supervisors run: closing it stops every gateway. */
  readonly scope: Scope.Scope
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

/**
 * The tenants' supervised gateways, one per tenant at most. Calls for one tenant are expected one
 * at a time (the provider holds a lock per tenant around them).
 */
export const makeGateways = (options: GatewaysOptions) => {
  const { config, dataDir, command } = options
  const running = new Map<string, Gateway>()
  // Ports held by this provider's gateways, so two tenants never get the same one.
  const ports = new Map<string, number>()

  const inherited = () =>
    Object.fromEntries(config.inheritEnv.flatMap((name) => (process.env[name] === undefined ? [] : [[name, process.env[name]!]])))

  // Platform secrets come from `Secrets` when the server provides one; the gateway token is ours.
  const secretEnv = (spec: ProcessSpec) =>
    Effect.forEach(
      spec.secrets.filter((s) => s.env !== SecretEnv.gatewayToken),
      (s) =>
        Option.match(options.secrets, {
          onNone: () => Effect.succeed([] as Array<[string, string]>),
          onSome: (secrets) =>
            secrets.resolve(s.ref).pipe(
              Effect.map((value): Array<[string, string]> => [[s.env, Redacted.value(value)]]),
              Effect.catch((e) =>
                Effect.as(
                  Effect.logWarning(`local provider: ${s.env} left unset for the gateway: ${e.message}`),
                  [] as Array<[string, string]>
                )
              )
            )
        })
    ).pipe(Effect.map((pairs) => Object.fromEntries(pairs.flat())))

  const prepare = (tenant: string, spec: ProcessSpec) =>
    Effect.gen(function* () {
      const layout = layoutOf(dataDir, tenant)
      const { token, port } = yield* Effect.tryPromise({
        try: async () => {
          const token = (await readIfExists(layout.token))?.trim()
          if (!token) throw new Error("the tenant has no gateway token; the next apply creates one")
          const remembered = Number.parseInt((await readIfExists(layout.port)) ?? "", 10)
          const taken = new Set([...ports].filter(([t]) => t !== tenant).map(([, p]) => p))
          const port = await choosePort(Number.isInteger(remembered) ? remembered : undefined, taken)
          ports.set(tenant, port)
          if (port !== remembered) await writeAtomically(layout.port, `${port}\n`, 0o600)
          return { token, port }
        },
        catch: message
      })
      const secrets = yield* secretEnv(spec)
      const launch = yield* Effect.try({
        try: () => command({ tenant, version: spec.openclaw, port, stateDir: layout.dir, configPath: layout.config, token }),
        catch: (e) => `the gateway command failed: ${message(e)}`
      })
      const proxy = spec.egressProxy
      // Set last, so neither the command nor the inherited environment can move the gateway out
      // of its own directory or off the proxy.
      const own: Record<string, string> = {
        OPENCLAW_STATE_DIR: layout.dir,
        OPENCLAW_CONFIG_PATH: layout.config,
        HOME: layout.home,
        TMPDIR: layout.tmp,
        [SecretEnv.gatewayToken]: token,
        NO_PROXY,
        no_proxy: NO_PROXY,
        ...(proxy === null ? {} : { HTTPS_PROXY: proxy, HTTP_PROXY: proxy, https_proxy: proxy, http_proxy: proxy })
      }
      return {
        port,
        launch: { command: launch.command, args: launch.args, cwd: layout.dir, env: { ...inherited(), ...launch.env, ...secrets, ...own } }
      }
    })

  const start = (tenant: string, spec: ProcessSpec) =>
    Effect.map(
      supervise(
        {
          prepare: prepare(tenant, spec),
          readyPath: "/readyz",
          timing: {
            stopTimeoutMs: config.stopTimeoutMs,
            readyIntervalMs: config.readiness.intervalMs,
            readyTimeoutMs: config.readiness.timeoutMs,
            ...config.restart
          }
        },
        options.scope
      ),
      (supervisor) => void running.set(tenant, { spec, supervisor })
    )

  const stop = (tenant: string) =>
    Effect.suspend(() => {
      const gateway = running.get(tenant)
      if (gateway === undefined) return Effect.void
      return Effect.ensuring(
        gateway.supervisor.stop,
        Effect.sync(() => {
          running.delete(tenant)
          ports.delete(tenant)
        })
      )
    })

  return {
    get: (tenant: string) => running.get(tenant),
    /** Runs the gateway for `spec`: started if none runs, restarted if it must take up a change. */
    ensure: (tenant: string, spec: ProcessSpec) =>
      Effect.suspend(() => {
        const gateway = running.get(tenant)
        if (gateway === undefined) return start(tenant, spec)
        if (!needsRestart(gateway.spec, spec)) return Effect.sync(() => void running.set(tenant, { ...gateway, spec }))
        return Effect.andThen(stop(tenant), start(tenant, spec))
      }),
    /** Restarts a running gateway as it is (its token changed under it); nothing if none runs. */
    restart: (tenant: string) =>
      Effect.suspend(() => {
        const gateway = running.get(tenant)
        return gateway === undefined ? Effect.void : Effect.andThen(stop(tenant), start(tenant, gateway.spec))
      }),
    stop,
    stopAll: Effect.suspend(() => Effect.forEach([...running.keys()], stop, { concurrency: "unbounded", discard: true }))
  }
}

export type Gateways = ReturnType<typeof makeGateways>
