import { join } from "node:path"
import {
  defaultOpenClawCache,
  EgressProxy,
  type ReconcileEvent,
  Reconciler,
  ReconcilerConfig,
  Store,
  TokenProxy,
  type UpstreamConfig
} from "@clawfleet/core"
import { FakeLlm } from "@clawfleet/core/fake-llm"
import * as Local from "@clawfleet/provider-local"
import { Context, Effect, Layer, Redacted, type Stream } from "effect"
import { Roles, type RolesConfig } from "../api/Roles.ts"
import * as ControlPlane from "../ControlPlane.ts"
import { ControlPlaneHttp } from "../http/ControlPlaneHttp.ts"
import { ToolsHttp } from "../http/ToolsHttp.ts"
import { feedReconciler, Metrics } from "../ops/index.ts"
import { DemoOidc } from "./DemoOidc.ts"
import { devKeyEncryptionKey } from "./devKeys.ts"
import { DEMO_UPSTREAM, demoPeople } from "./seed.ts"

export interface DevFleetOptions {
  /** Everything the fleet keeps: the database, the tenants' directories, the key. */
  readonly dataDir: string
  /** The control plane's port; the token proxy, egress proxy, tools and sign-in take the next four. */
  readonly port: number
  /** A real model: the token proxy sends the demo model's calls there instead of to the canned one. */
  readonly upstream?: { readonly baseUrl: string; readonly apiKey: Redacted.Redacted<string> } | undefined
  readonly model: string
  /** Where OpenClaw versions are installed; the provider's default when absent. */
  readonly openclawCache?: string | undefined
}

/** What a running development fleet tells its user. */
export class DevFleet extends Context.Service<
  DevFleet,
  {
    readonly url: string
    readonly tokenProxyUrl: string
    readonly egressProxyUrl: string
    readonly toolsUrl: string
    readonly signInUrl: string
    /** Where OpenClaw versions are installed. */
    readonly openclawCache: string
    /** Whether model calls get canned answers (no real upstream configured). */
    readonly fakeModel: boolean
    readonly events: Stream.Stream<ReconcileEvent>
  }
>()("@clawfleet/server/DevFleet") {}

const LOOPBACK = "127.0.0.1"

/** Ada administers the demo organisation; Grace is a member, to show what a member sees. */
const devRoles: RolesConfig = { orgAdmins: { people: ["ada"] } }

/**
 * The whole fleet on this machine: PGlite in `dataDir`, the control plane and its sign-in (a
 * development-only OpenID provider with the demo people), the token proxy (a canned model unless
 * a real upstream is given), the egress proxy, the tool broker, the local provider with a tenant
 * agent in front of each OpenClaw gateway, and the reconciler.
 */
export const layer = (options: DevFleetOptions) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const keyEncryptionKey = yield* devKeyEncryptionKey(options.dataDir)
      const publicUrl = `http://${LOOPBACK}:${options.port}`
      const ports = { tokenProxy: options.port + 1, egress: options.port + 2, tools: options.port + 3, oidc: options.port + 4 }
      const urls = {
        tokenProxy: `http://${LOOPBACK}:${ports.tokenProxy}`,
        egress: `http://${LOOPBACK}:${ports.egress}`,
        tools: `http://${LOOPBACK}:${ports.tools}`
      }
      const openclawCache = options.openclawCache ?? defaultOpenClawCache()
      const sql = Store.pgliteClient({ dataDir: join(options.dataDir, "db") })
      const store = Store.layerSql().pipe(Layer.provideMerge(sql), Layer.orDie)

      const oidc = DemoOidc.layer({
        people: demoPeople,
        redirectUri: new URL(ControlPlane.CALLBACK_PATH, publicUrl).href,
        postLogoutRedirectUri: new URL("/", publicUrl).href,
        host: LOOPBACK,
        port: ports.oidc
      })
      const controlPlane = Layer.unwrap(
        DemoOidc.useSync((demo) =>
          ControlPlane.layer(
            {
              publicUrl,
              keyEncryptionKey,
              oidc: { issuer: demo.issuer, clientId: demo.clientId, clientSecret: demo.clientSecret, allowInsecureRequests: true },
              isAdmin: Roles.make(devRoles).isOrgAdmin,
              openclaw: { tokenProxyUrl: `${urls.tokenProxy}/v1`, toolBrokerUrl: urls.tools, egressProxyUrl: urls.egress }
            },
            store
          )
        )
      ).pipe(Layer.provideMerge(oidc))

      const fakeModel = options.upstream === undefined
      const upstream: Layer.Layer<never> | Layer.Layer<FakeLlm> = fakeModel ? FakeLlm.layer({ models: [options.model] }) : Layer.empty
      const tokenProxy = Layer.unwrap(
        Effect.gen(function* () {
          const target: UpstreamConfig = fakeModel
            ? { name: DEMO_UPSTREAM, dialect: "openai", baseUrl: `${(yield* FakeLlm).url}/v1`, apiKey: Redacted.make("canned") }
            : { name: DEMO_UPSTREAM, dialect: "openai", baseUrl: options.upstream!.baseUrl, apiKey: options.upstream!.apiKey }
          return TokenProxy.layer({ upstreams: [target], host: LOOPBACK, port: ports.tokenProxy })
        })
      ).pipe(Layer.provide(upstream as Layer.Layer<FakeLlm>))

      const provider = Local.layer({
        dataDir: join(options.dataDir, "runtime"),
        gateway: { cacheDir: openclawCache },
        egressProxyUrl: urls.egress,
        agent: { controlPlaneUrl: publicUrl, issuer: new URL(publicUrl).origin }
      })

      const services = Layer.mergeAll(
        ControlPlaneHttp.layer({ publicUrl, secureCookies: false, roles: devRoles, host: LOOPBACK, port: options.port }),
        tokenProxy,
        EgressProxy.layer({ host: LOOPBACK, port: ports.egress }),
        ToolsHttp.layer({ host: LOOPBACK, port: ports.tools }),
        Reconciler.layer.pipe(Layer.provide(Layer.orDie(provider)))
      ).pipe(Layer.provideMerge(controlPlane))

      const fleet = Layer.effect(
        DevFleet,
        Effect.gen(function* () {
          const reconciler = yield* Reconciler
          const events = reconciler.events
          yield* feedReconciler
          yield* reconciler.start
          const demo = yield* DemoOidc
          return DevFleet.of({
            url: publicUrl,
            tokenProxyUrl: urls.tokenProxy,
            egressProxyUrl: urls.egress,
            toolsUrl: urls.tools,
            signInUrl: demo.issuer,
            openclawCache,
            fakeModel,
            events
          })
        })
      )
      return fleet.pipe(
        Layer.provideMerge(services),
        Layer.provideMerge(Metrics.layer),
        // A development fleet: reconcile quickly, retry soon, and keep data when a tenant goes.
        Layer.provide(
          Layer.succeed(ReconcilerConfig, {
            ...ReconcilerConfig.defaultValue(),
            concurrency: 4,
            // What you delete in a development fleet is gone, its directory included.
            retention: "delete",
            resyncMs: 30_000,
            backoff: { baseMs: 200, capMs: 10_000 }
          })
        )
      )
    })
  )
