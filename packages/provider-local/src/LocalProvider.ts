import { realpathSync } from "node:fs"
import { chmod } from "node:fs/promises"
import { resolve } from "node:path"
import {
  type ManagedResource,
  makeProvider,
  type Observation,
  ProviderError,
  type ProviderErrorReason,
  RuntimeProvider,
  Secrets
} from "@clawfleet/core"
import { Effect, Layer, Schema, Scope, Semaphore } from "effect"
import { type Gateway, type Gateways, makeGateways } from "./Gateways.ts"
import type { AgentHandle } from "./internal/agent.ts"
import { notReady, ready, workloadReadiness } from "./internal/conditions.ts"
import {
  ensureDir,
  layoutOf,
  modeOf,
  newToken,
  readIfExists,
  removeFile,
  removeTree,
  type TenantLayout,
  tenantsDir,
  writeAtomically
} from "./internal/files.ts"
import { lockDataDir } from "./internal/lock.ts"
import { LocalConfig, type LocalConfigInput, openclawCommand } from "./LocalConfig.ts"
import { DIRECTORY_MODE, desiredResources, type EgressPolicy, FILE_MODE, Kinds, type ProcessSpec, resourceNames } from "./resources.ts"

const NAME = "local"
const TENANT = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/

const REASONS: Record<string, ProviderErrorReason> = {
  EACCES: "Forbidden",
  EPERM: "Forbidden",
  ENOSPC: "QuotaExceeded",
  EDQUOT: "QuotaExceeded"
}

const fsError = (what: string, resource?: string) => (cause: unknown) => {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code
  return new ProviderError({
    reason: (code === undefined ? undefined : REASONS[code]) ?? "Unavailable",
    provider: NAME,
    detail: `${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
    ...(resource === undefined ? {} : { resource }),
    cause
  })
}
const attempt = <A>(what: string, f: () => Promise<A>, resource?: string) => Effect.tryPromise({ try: f, catch: fsError(what, resource) })

/** Where a client reaches the tenant: its agent when one runs, else the bare gateway on loopback. */
const endpointOf = (gateway: Gateway | undefined, agent: AgentHandle | undefined) => {
  if (agent !== undefined) return agent.url
  const port = gateway?.supervisor.status().port
  return port === undefined ? undefined : `http://127.0.0.1:${port}`
}

/** A JSON file's permission bits and content, as `list` reports them; content that does not parse shows as such. */
const readJsonFile = async (path: string) => {
  const [mode, text] = [await modeOf(path), await readIfExists(path)]
  if (mode === undefined || text === undefined) return undefined
  try {
    return { mode, content: JSON.parse(text) as unknown }
  } catch {
    return { mode, content: { unreadable: "not JSON" } }
  }
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`

const make = Effect.fnUntraced(function* (config: LocalConfig) {
  const dataDir = resolve(config.dataDir)
  yield* attempt("creating the data directory", async () => {
    await ensureDir(dataDir, 0o700)
    await ensureDir(tenantsDir(dataDir), 0o700)
  })
  yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: () => lockDataDir(dataDir),
      catch: (e) => new ProviderError({ reason: "Conflict", provider: NAME, detail: e instanceof Error ? e.message : String(e) })
    }),
    (unlock) => Effect.promise(unlock)
  )
  // Parallel: closing the layer stops every gateway at once, not one stop timeout after another.
  const supervision = yield* Scope.fork(yield* Effect.scope, "parallel")
  const gateways: Gateways = makeGateways({
    config,
    dataDir,
    command:
      config.gateway.command ??
      (config.gateway.openclaw === undefined ? undefined : openclawCommand(resolveExecutable(config.gateway.openclaw))),
    secrets: yield* Effect.serviceOption(Secrets),
    scope: supervision
  })
  // Runs before the supervision scope closes and before the data directory is unlocked.
  yield* Effect.addFinalizer(() => gateways.stopAll)

  const locks = new Map<string, Semaphore.Semaphore>()
  const exclusive = (tenant: string) => {
    let lock = locks.get(tenant)
    if (lock === undefined) locks.set(tenant, (lock = Semaphore.makeUnsafe(1)))
    return Semaphore.withPermits(lock, 1)
  }
  const checked = (tenant: string): Effect.Effect<TenantLayout, ProviderError> =>
    TENANT.test(tenant)
      ? Effect.succeed(layoutOf(dataDir, tenant))
      : Effect.fail(
          new ProviderError({ reason: "Invalid", provider: NAME, detail: `tenant name ${JSON.stringify(tenant)} is not a DNS label` })
        )

  const list = (tenant: string) =>
    Effect.gen(function* () {
      const layout = yield* checked(tenant)
      const names = resourceNames(tenant)
      const files = yield* attempt(`reading ${layout.dir}`, async () => {
        const found: Array<ManagedResource> = []
        const dirMode = await modeOf(layout.dir)
        if (dirMode !== undefined) found.push({ kind: Kinds.storage, name: names.directory, role: "data", spec: { mode: dirMode } })
        const tokenMode = await modeOf(layout.token)
        if (tokenMode !== undefined) found.push({ kind: Kinds.identity, name: names.token, role: "config", spec: { mode: tokenMode } })
        const egress = await readJsonFile(layout.egress)
        if (egress)
          found.push({ kind: Kinds.network, name: names.egress, role: "config", spec: { mode: egress.mode, policy: egress.content } })
        const openclaw = await readJsonFile(layout.config)
        if (openclaw)
          found.push({ kind: Kinds.config, name: names.config, role: "config", spec: { mode: openclaw.mode, openclaw: openclaw.content } })
        return found
      })
      const gateway = gateways.get(tenant)
      return gateway === undefined
        ? files
        : [...files, { kind: Kinds.workload, name: names.process, role: "workload", spec: gateway.spec } satisfies ManagedResource]
    })

  const put = (tenant: string, r: ManagedResource) =>
    Effect.gen(function* () {
      const layout = yield* checked(tenant)
      const spec = r.spec as Record<string, unknown>
      switch (r.kind) {
        case Kinds.storage:
          return yield* attempt(
            `creating ${layout.dir}`,
            async () => {
              await ensureDir(tenantsDir(dataDir), 0o700)
              for (const dir of [layout.dir, layout.home, layout.tmp, layout.clawfleet]) await ensureDir(dir, 0o700)
            },
            r.name
          )
        case Kinds.identity: {
          const created = yield* attempt(
            "writing the gateway token",
            async () => {
              await ensureDir(layout.clawfleet, 0o700)
              if ((await readIfExists(layout.token))?.trim()) {
                await chmod(layout.token, 0o600)
                return false
              }
              await writeAtomically(layout.token, `${newToken()}\n`, 0o600)
              return true
            },
            r.name
          )
          // A gateway started with the old token would refuse the new one.
          if (created) yield* gateways.restart(tenant)
          return
        }
        case Kinds.network:
          return yield* attempt(
            "writing the egress settings",
            () => writeAtomically(layout.egress, json(spec.policy as EgressPolicy), 0o600),
            r.name
          )
        case Kinds.config:
          // A changed config restarts the gateway through the process spec, which carries its digest.
          return yield* attempt("writing openclaw.json", () => writeAtomically(layout.config, json(spec.openclaw), 0o600), r.name)
        case Kinds.workload:
          return yield* gateways.ensure(tenant, r.spec as ProcessSpec)
      }
    }).pipe(exclusive(tenant))

  const remove = (tenant: string, r: ManagedResource) =>
    Effect.gen(function* () {
      const layout = yield* checked(tenant)
      switch (r.kind) {
        case Kinds.workload:
          return yield* gateways.stop(tenant)
        case Kinds.storage:
          yield* gateways.stop(tenant)
          return yield* attempt(`removing ${layout.dir}`, () => removeTree(layout.dir), r.name)
        default: {
          const path = { [Kinds.identity]: layout.token, [Kinds.network]: layout.egress, [Kinds.config]: layout.config }[r.kind]
          if (path !== undefined) yield* attempt(`removing ${path}`, () => removeFile(path), r.name)
        }
      }
    }).pipe(exclusive(tenant))

  const readiness = (tenant: string, resources: ReadonlyArray<ManagedResource>) =>
    Effect.sync((): Pick<Observation, "storage" | "identity" | "network" | "workload" | "endpoint"> => {
      const layout = layoutOf(dataDir, tenant)
      const find = (kind: string) => resources.find((r) => r.kind === kind)?.spec as { mode?: string; policy?: EgressPolicy } | undefined
      const secure = (found: { mode?: string } | undefined, want: string, what: string, path: string) =>
        found === undefined
          ? notReady("Missing", `no ${what} at ${path}`)
          : found.mode !== want
            ? notReady("InsecureMode", `${path} has mode ${found.mode}, not ${want}`)
            : ready(`${what} at ${path}, mode ${want}`)
      const egress = find(Kinds.network)
      const proxy = egress?.policy?.proxy
      const gateway = gateways.get(tenant)
      const status = gateway?.supervisor.status()
      return {
        storage: secure(find(Kinds.storage), DIRECTORY_MODE, "state directory", layout.dir),
        identity: secure(find(Kinds.identity), FILE_MODE, "gateway token", layout.token),
        network:
          egress === undefined
            ? notReady("Missing", `no egress settings at ${layout.egress}`)
            : {
                ready: true,
                reason: "Advisory",
                message: proxy
                  ? `HTTPS_PROXY and HTTP_PROXY point at ${proxy}; nothing on this machine stops a direct connection`
                  : "no egress proxy is configured: the gateway connects directly"
              },
        workload:
          status === undefined
            ? notReady("NotRunning", "no gateway process")
            : (gateways.waitingFor(tenant) ?? "") !== ""
              ? notReady("Installing", gateways.waitingFor(tenant)!)
              : workloadReadiness(status, Date.now()),
        endpoint: endpointOf(gateway, gateways.agent(tenant))
      }
    })

  return makeProvider({
    describe: {
      name: NAME,
      capabilities: {
        storage: "directory",
        identity: "token",
        network: "advisory",
        features: { suspend: true, idleWake: false, quota: false }
      }
    },
    desired: (runtime) => desiredResources(runtime, config.egressProxyUrl),
    list,
    put,
    remove,
    readiness
  })
})

// `node_modules/.bin/openclaw` is a link to the package's `openclaw.mjs`: following it lets the
// gateway run under this process's Node rather than whichever `node` its shebang finds.
const resolveExecutable = (path: string) => {
  if (!path.includes("/")) return path
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

/**
 * The local provider: each tenant's OpenClaw gateway is a supervised process on this machine,
 * with a directory of its own under `dataDir`. It declares what it is — directory storage, token
 * identity, advisory network — and fails to build with a `ProviderError` (`Invalid`) naming a bad
 * config field, or (`Conflict`) when another provider already uses `dataDir`.
 *
 * Closing the layer stops every gateway gracefully. If this process dies without closing it,
 * each gateway's watchdog stops it.
 */
export const layer = (config: LocalConfigInput): Layer.Layer<RuntimeProvider, ProviderError> =>
  Layer.effect(
    RuntimeProvider,
    Schema.decodeUnknownEffect(LocalConfig)(config, { errors: "all" }).pipe(
      Effect.mapError((e) => new ProviderError({ reason: "Invalid", provider: NAME, detail: `configuration: ${e.message}` })),
      Effect.flatMap(make)
    )
  )
