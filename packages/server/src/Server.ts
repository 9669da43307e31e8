/**
 * `clawfleet start`: the reference server composed from its configuration (`loadServerConfig`),
 * with nothing development-only in it. `layer` is the composition; `runServer` loads the
 * configuration, logs JSON, and runs the server until it is interrupted.
 */
import { mkdirSync } from "node:fs"
import * as http from "node:http"
import { join, resolve } from "node:path"
import {
  EgressProxy,
  listen,
  Metering,
  Reconciler,
  ReconcilerConfig,
  type ReconcilerOptions,
  type RuntimeProvider,
  Store,
  TokenProxy
} from "@clawfleet/core"
import * as Local from "@clawfleet/provider-local"
import { Context, Duration, Effect, Layer, Logger, Schedule } from "effect"
import * as ControlPlane from "./ControlPlane.ts"
import { ControlPlaneHttp } from "./http/ControlPlaneHttp.ts"
import { ToolsHttp } from "./http/ToolsHttp.ts"
import { Metrics } from "./ops/Metrics.ts"
import { ProviderMetrics } from "./ops/providerMetrics.ts"
import { feedReconciler } from "./ops/reconcilerMetrics.ts"
import { isOrgAdmin, loadServerConfig, type ServerConfigShape } from "./ops/ServerConfig.ts"
import { instrumentTokenProxy, MeteringMetrics } from "./ops/tokenProxyMetrics.ts"

export interface ServerLayerOptions {
  /**
   * The runtime provider to use instead of the one `provider.kind` names: a configuration file
   * cannot hold a layer (tests use `MemoryProvider.layer()`; an embedding may bring its own).
   */
  readonly provider?: Layer.Layer<RuntimeProvider, Error> | undefined
  /** Reconciler settings beyond `reconciler.concurrency`: a development fleet retries sooner and deletes data. */
  readonly reconciler?: Partial<ReconcilerOptions> | undefined
  /** Sign-in against a plain-http issuer: only for a development OpenID provider on loopback. */
  readonly allowInsecureOidc?: boolean | undefined
}

/** What a running server tells its operator: where each of its listeners is. */
export class Server extends Context.Service<
  Server,
  {
    /** Where people and tenant agents reach the control plane (`publicUrl`). */
    readonly publicUrl: string
    /** Where the control plane listens, as bound. */
    readonly listenUrl: string
    readonly tokenProxyUrl: string
    readonly egressProxyUrl: string
    readonly toolsUrl: string
    /** The URLs tenants' configs point at. */
    readonly tenantUrls: { readonly tokenProxy: string; readonly egressProxy: string; readonly tools: string }
    /** The runtime provider's kind, or "custom" when `ServerLayerOptions.provider` replaced it. */
    readonly provider: string
  }
>()("@clawfleet/server/Server") {}

/** A URL this machine reaches a listener on: a wildcard address means loopback. */
const localUrl = (host: string, port: number) => {
  const h = host === "0.0.0.0" || host === "::" || host === "" ? "127.0.0.1" : host
  return `http://${h.includes(":") ? `[${h}]` : h}:${port}`
}

/** The store: PGlite in `<dataDir>/db`, or a PostgreSQL server, with its `SqlClient` (metering and knowledge live there too). */
const storeLayer = (store: ServerConfigShape["store"]) => {
  const sql =
    store.kind === "pglite"
      ? Layer.unwrap(
          Effect.sync(() => {
            // PGlite creates its own directory, not the ones above it.
            const dataDir = join(resolve(store.dataDir), "db")
            mkdirSync(dataDir, { recursive: true })
            return Store.pgliteClient({ dataDir })
          })
        )
      : Layer.unwrap(
          Effect.map(
            Effect.promise(() => import("@effect/sql-pg")),
            ({ PgClient }) => PgClient.layer({ url: store.url, maxConnections: 10, applicationName: "clawfleet" })
          )
        )
  return Store.layerSql().pipe(Layer.provideMerge(sql), Layer.orDie)
}

/** The token proxy, its requests counted by route and status and its refusals by reason. */
const tokenProxyLayer = (options: { readonly upstreams: ServerConfigShape["upstreams"]; readonly host: string; readonly port: number }) =>
  Layer.effect(
    TokenProxy,
    Effect.gen(function* () {
      const metrics = yield* Metrics
      const handler = yield* TokenProxy.handler({ upstreams: options.upstreams })
      const metering = yield* Metering
      // What `TokenProxy.layer` does too: reservations of requests that never finished expire.
      yield* metering.releaseExpired(3_600_000).pipe(
        Effect.catch((e) => Effect.logWarning("token proxy: could not release expired reservations", e)),
        Effect.repeat(Schedule.spaced(Duration.minutes(1))),
        Effect.forkScoped
      )
      const server = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, instrumentTokenProxy(handler, metrics.tokenProxy))
      const { origin, port } = yield* listen(server, { host: options.host, port: options.port })
      return TokenProxy.of({ url: origin, port })
    })
  ).pipe(Layer.provide(MeteringMetrics))

/** The runtime provider `provider.kind` names; its other settings are the provider's own configuration. */
const providerLayer = (config: ServerConfigShape, urls: { readonly egressProxy: string }): Layer.Layer<RuntimeProvider, Error> => {
  const { kind, ...rest } = config.provider
  switch (kind) {
    case "local": {
      const dataDir = config.store.kind === "pglite" ? join(resolve(config.store.dataDir), "runtime") : resolve(".clawfleet/runtime")
      const agent = typeof rest.agent === "object" && rest.agent !== null ? rest.agent : {}
      return Local.layer({
        dataDir,
        egressProxyUrl: urls.egressProxy,
        ...rest,
        // The tenant agent is always in front of the gateway: it redeems pairings at this control plane.
        agent: { controlPlaneUrl: config.publicUrl, issuer: new URL(config.publicUrl).origin, ...agent }
      } as Local.LocalConfigInput)
    }
    case "k3s":
      return Layer.unwrap(
        Effect.gen(function* () {
          const [K3s, { KubeConfig }] = yield* Effect.promise(() =>
            Promise.all([import("@clawfleet/provider-k3s"), import("@kubernetes/client-node")])
          )
          const kubeConfig = yield* Effect.try({
            try: () => {
              const kc = new KubeConfig()
              kc.loadFromDefault()
              return kc
            },
            catch: (e) => new Error(`provider k3s: cannot load the Kubernetes configuration: ${e instanceof Error ? e.message : String(e)}`)
          })
          return K3s.layer({ kubeConfig, config: rest as unknown as import("@clawfleet/provider-k3s").K3sConfigInput })
        })
      )
    case "gke":
      return Layer.unwrap(
        Effect.fail(
          new Error('provider.kind "gke" is not wired into `clawfleet start` yet (it needs GCS and IAM clients); use "k3s" or "local"')
        )
      )
  }
}

/**
 * The reference server from its configuration: the store, the control plane (`publicUrl`, sign-in
 * at the organisation's OpenID provider, org administrators by `roles`), its HTTP server on
 * `listen` with the REST API, SCIM and `/metrics`, the token proxy, the egress proxy and the tool
 * broker on their ports, the runtime provider (timed into the metrics), and the reconciler,
 * started and fed into the metrics. Closing the layer's scope stops the reconciler, closes every
 * listener (in-flight requests finish, then the connections close) and stops the provider.
 */
export const layer = (config: ServerConfigShape, options: ServerLayerOptions = {}) => {
  const host = config.listen.host
  const tenantUrls = {
    tokenProxy: config.tokenProxy.url ?? localUrl(host, config.tokenProxy.port),
    egressProxy: config.egressProxy.url ?? localUrl(host, config.egressProxy.port),
    tools: config.tools.url ?? localUrl(host, config.tools.port)
  }
  const controlPlane = ControlPlane.layer(
    {
      publicUrl: config.publicUrl,
      keyEncryptionKey: config.keyEncryptionKey,
      oidc: {
        issuer: config.oidc.issuer,
        clientId: config.oidc.clientId,
        clientSecret: config.oidc.clientSecret,
        allowInsecureRequests: options.allowInsecureOidc
      },
      isAdmin: isOrgAdmin(config.roles),
      openclaw: {
        tokenProxyUrl: `${tenantUrls.tokenProxy.replace(/\/$/, "")}/v1`,
        toolBrokerUrl: tenantUrls.tools,
        egressProxyUrl: tenantUrls.egressProxy
      }
    },
    storeLayer(config.store)
  )
  const provider = ProviderMetrics.pipe(Layer.provide(options.provider ?? providerLayer(config, tenantUrls)))

  const services = Layer.mergeAll(
    ControlPlaneHttp.layer({
      publicUrl: config.publicUrl,
      secureCookies: new URL(config.publicUrl).protocol === "https:",
      isAdmin: isOrgAdmin(config.roles),
      roles: config.roles,
      host,
      port: config.listen.port
    }),
    tokenProxyLayer({ upstreams: config.upstreams, host, port: config.tokenProxy.port }),
    EgressProxy.layer({ host, port: config.egressProxy.port }),
    ToolsHttp.layer({ host, port: config.tools.port }),
    Reconciler.layer.pipe(Layer.provide(provider))
  ).pipe(Layer.provideMerge(controlPlane))

  const server = Layer.effect(
    Server,
    Effect.gen(function* () {
      const reconciler = yield* Reconciler
      yield* feedReconciler
      yield* reconciler.start
      const http = yield* ControlPlaneHttp
      return Server.of({
        publicUrl: config.publicUrl,
        listenUrl: http.url,
        tokenProxyUrl: (yield* TokenProxy).url,
        egressProxyUrl: (yield* EgressProxy).url,
        toolsUrl: (yield* ToolsHttp).url,
        tenantUrls,
        provider: options.provider === undefined ? config.provider.kind : "custom"
      })
    })
  )

  return server.pipe(
    Layer.provideMerge(services),
    Layer.provideMerge(Metrics.layer),
    Layer.provide(
      Layer.succeed(ReconcilerConfig, {
        ...ReconcilerConfig.defaultValue(),
        ...options.reconciler,
        concurrency: config.reconciler.concurrency
      })
    )
  )
}

/** Every log line one JSON object on stdout, as log collectors expect. */
export const JsonLogger: Layer.Layer<never> = Logger.layer([Logger.consoleJson])

const toError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)))

/**
 * `clawfleet start`: loads the configuration from `argv` (`--config <file>`) and `env`
 * (`CLAWFLEET_*`), starts the server, logs one JSON line with its URLs, and runs until
 * interrupted; interruption closes everything in order. Fails with the `ServerConfigError`
 * (every problem, no secret) when the configuration is wrong, before anything starts.
 */
export const runServer = (options: {
  readonly argv: ReadonlyArray<string>
  readonly env: Record<string, string | undefined>
}): Effect.Effect<never, Error> =>
  Effect.gen(function* () {
    const config = yield* loadServerConfig({ argv: options.argv, env: options.env })
    return yield* Effect.gen(function* () {
      const server = yield* Server
      yield* Effect.logInfo("clawfleet started").pipe(
        Effect.annotateLogs({
          event: "started",
          publicUrl: server.publicUrl,
          listen: server.listenUrl,
          tokenProxy: server.tokenProxyUrl,
          egressProxy: server.egressProxyUrl,
          tools: server.toolsUrl,
          tenantTokenProxy: server.tenantUrls.tokenProxy,
          tenantEgressProxy: server.tenantUrls.egressProxy,
          tenantTools: server.tenantUrls.tools,
          provider: server.provider,
          store: config.store.kind
        })
      )
      return yield* Effect.never
    }).pipe(
      Effect.provide(layer(config)),
      Effect.onInterrupt(() => Effect.logInfo("clawfleet stopped").pipe(Effect.annotateLogs({ event: "stopped" })))
    )
  }).pipe(Effect.mapError(toError), Effect.provide(JsonLogger))
