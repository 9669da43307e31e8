import { installOpenClaw, ProviderError, SecretEnv, type Secrets } from "@clawfleet/core"
import { Effect, Exit, Option, Redacted, Scope } from "effect"
import { type AgentHandle, startAgent } from "./internal/agent.ts"
import { layoutOf, readIfExists, writeAtomically } from "./internal/files.ts"
import { choosePort } from "./internal/ports.ts"
import { type GatewayCommand, type LocalConfig, openclawCommand } from "./LocalConfig.ts"
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
  /** Undefined: each tenant's pinned OpenClaw, installed on first use. */
  readonly command: GatewayCommand | undefined
  readonly secrets: Option.Option<Secrets["Service"]>
  /** Where the supervisors run: closing it stops every gateway. */
  readonly scope: Scope.Scope
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** The port remembered in `file` when it is still free, else a new one, remembered from now on. */
const rememberedPort = async (file: string, taken: ReadonlySet<number>) => {
  const remembered = Number.parseInt((await readIfExists(file)) ?? "", 10)
  const port = await choosePort(Number.isInteger(remembered) ? remembered : undefined, taken)
  if (port !== remembered) await writeAtomically(file, `${port}\n`, 0o600)
  return port
}

/**
 * The tenants' supervised gateways, one per tenant at most. Calls for one tenant are expected one
 * at a time (the provider holds a lock per tenant around them).
 */
export const makeGateways = (options: GatewaysOptions) => {
  const { config, dataDir, command } = options
  const running = new Map<string, Gateway>()
  // Ports held by this provider's gateways and agents, so two never get the same one.
  const ports = new Map<string, number>()
  const agentPorts = new Map<string, number>()
  const taken = (except: string) => new Set([...ports, ...agentPorts].filter(([t]) => t !== except).map(([, p]) => p))

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

  // What a tenant waits for before its gateway can start, for its workload condition.
  const waiting = new Map<string, string>()
  const installed = (tenant: string, version: string) =>
    installOpenClaw({
      version,
      ...(config.gateway.cacheDir === undefined ? {} : { cacheDir: config.gateway.cacheDir }),
      onProgress: (line) => waiting.set(tenant, line)
    }).pipe(
      Effect.map((install) => openclawCommand(install.entry)),
      Effect.mapError((e) => e.message),
      Effect.ensuring(Effect.sync(() => waiting.delete(tenant)))
    )

  const prepare = (tenant: string, spec: ProcessSpec) =>
    Effect.gen(function* () {
      const layout = layoutOf(dataDir, tenant)
      const { token, port } = yield* Effect.tryPromise({
        try: async () => {
          const token = (await readIfExists(layout.token))?.trim()
          if (!token) throw new Error("the tenant has no gateway token; the next apply creates one")
          const port = await rememberedPort(layout.port, taken(tenant))
          ports.set(tenant, port)
          return { token, port }
        },
        catch: message
      })
      const secrets = yield* secretEnv(spec)
      const run = command ?? (yield* installed(tenant, spec.openclaw))
      const launch = yield* Effect.try({
        try: () => run({ tenant, version: spec.openclaw, port, stateDir: layout.dir, configPath: layout.config, token }),
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

  // Agents outlive their gateway's restarts (a config change), so open browser sessions do too;
  // they go with a stop (suspend, destroy) or a new gateway token.
  const agents = new Map<string, { readonly handle: AgentHandle; readonly scope: Scope.Closeable }>()

  const startAgentFor = (tenant: string) =>
    Effect.gen(function* () {
      const agent = config.agent
      if (agent === undefined || agents.has(tenant)) return
      const layout = layoutOf(dataDir, tenant)
      const fail = (detail: string, reason: "Unavailable" | "Invalid" = "Unavailable") =>
        new ProviderError({ reason, provider: "local", resource: `tenants/${tenant}/agent`, detail })
      if (Option.isNone(options.secrets)) {
        return yield* fail(`the tenant agent needs a Secrets service holding clawfleet-tenant-${tenant}/agent-key`, "Invalid")
      }
      const tenantKey = yield* options.secrets.value
        .resolve({ name: `clawfleet-tenant-${tenant}`, key: "agent-key" })
        .pipe(Effect.mapError((e) => fail(`the tenant agent has no key: ${e.message}`)))
      const gatewayToken = yield* Effect.tryPromise({
        try: async () => (await readIfExists(layout.token))?.trim() ?? "",
        catch: (e) => fail(`reading the gateway token: ${message(e)}`)
      })
      const port = yield* Effect.tryPromise({
        try: () => rememberedPort(layout.agentPort, taken(tenant)),
        catch: (e) => fail(`choosing the agent's port: ${message(e)}`)
      })
      agentPorts.set(tenant, port)
      const scope = yield* Scope.fork(options.scope, "sequential")
      const handle = yield* startAgent(
        {
          tenant,
          controlPlaneUrl: agent.controlPlaneUrl,
          issuer: agent.issuer,
          tenantKey,
          sessionHours: agent.sessionHours,
          port,
          gatewayToken: Redacted.make(gatewayToken),
          // The gateway's port can move when it restarts; the agent follows it.
          gatewayPort: () => running.get(tenant)?.supervisor.status().port,
          skillsDir: layout.skills
        },
        scope
      ).pipe(
        Effect.mapError((e) => fail(`starting the tenant agent: ${e}`)),
        Effect.onError(() => Scope.close(scope, Exit.void))
      )
      agents.set(tenant, { handle, scope })
    })

  const stopAgent = (tenant: string) =>
    Effect.suspend(() => {
      const agent = agents.get(tenant)
      agents.delete(tenant)
      agentPorts.delete(tenant)
      return agent === undefined ? Effect.void : Scope.close(agent.scope, Exit.void)
    })

  const startGateway = (tenant: string, spec: ProcessSpec) =>
    Effect.gen(function* () {
      const supervisor = yield* supervise(
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
      )
      running.set(tenant, { spec, supervisor })
    })

  const stopGateway = (tenant: string) =>
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

  // The agent first: a tenant without its door does not get a gateway either.
  const start = (tenant: string, spec: ProcessSpec) => Effect.andThen(startAgentFor(tenant), startGateway(tenant, spec))
  const stop = (tenant: string) => Effect.andThen(stopGateway(tenant), stopAgent(tenant))

  return {
    get: (tenant: string) => running.get(tenant),
    agent: (tenant: string) => agents.get(tenant)?.handle,
    /** What the tenant's gateway waits for before it can start (an OpenClaw install), if anything. */
    waitingFor: (tenant: string) => waiting.get(tenant),
    /** Runs the gateway for `spec`: started if none runs, restarted if it must take up a change. */
    ensure: (tenant: string, spec: ProcessSpec) =>
      Effect.suspend(() => {
        const gateway = running.get(tenant)
        if (gateway === undefined) return start(tenant, spec)
        if (!needsRestart(gateway.spec, spec)) return Effect.sync(() => void running.set(tenant, { ...gateway, spec }))
        return Effect.andThen(stopGateway(tenant), start(tenant, spec))
      }),
    /** Restarts a running gateway and its agent as they are (the token changed under them); nothing if none runs. */
    restart: (tenant: string) =>
      Effect.suspend(() => {
        const gateway = running.get(tenant)
        return gateway === undefined ? Effect.void : Effect.andThen(stop(tenant), start(tenant, gateway.spec))
      }),
    stop,
    stopAll: Effect.suspend(() =>
      Effect.forEach(new Set([...running.keys(), ...agents.keys()]), stop, { concurrency: "unbounded", discard: true })
    )
  }
}

export type Gateways = ReturnType<typeof makeGateways>
