import { defaultOpenClawCache } from "@clawfleet/core"
import { FakeLlm } from "@clawfleet/core/fake-llm"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import * as ControlPlane from "../ControlPlane.ts"
import type { ServerConfigShape, ServerUpstream } from "../ops/ServerConfig.ts"
import * as Server from "../Server.ts"
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
  }
>()("@clawfleet/server/DevFleet") {}

const LOOPBACK = "127.0.0.1"

/**
 * The whole fleet on this machine: the reference server (`Server.layer`) configured for one
 * developer — PGlite and the tenants' directories in `dataDir`, every listener on loopback, the
 * local provider — plus what only development has: a development-only OpenID provider with the
 * demo people, a canned model unless a real upstream is given, and a reconciler that retries
 * sooner and deletes what is deleted.
 */
export const layer = (options: DevFleetOptions) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const keyEncryptionKey = yield* devKeyEncryptionKey(options.dataDir)
      const publicUrl = `http://${LOOPBACK}:${options.port}`
      const openclawCache = options.openclawCache ?? defaultOpenClawCache()
      const fakeModel = options.upstream === undefined

      const oidc = DemoOidc.layer({
        people: demoPeople,
        redirectUri: new URL(ControlPlane.CALLBACK_PATH, publicUrl).href,
        postLogoutRedirectUri: new URL("/", publicUrl).href,
        host: LOOPBACK,
        port: options.port + 4
      })
      const model = fakeModel ? FakeLlm.layer({ models: [options.model] }) : Layer.empty

      const server = Layer.unwrap(
        Effect.gen(function* () {
          const demo = yield* DemoOidc
          const fake = yield* Effect.serviceOption(FakeLlm)
          const upstream: ServerUpstream = Option.match(fake, {
            onNone: () => ({
              name: DEMO_UPSTREAM,
              dialect: "openai",
              baseUrl: options.upstream!.baseUrl,
              apiKey: options.upstream!.apiKey,
              apiKeyEnv: "OPENAI_API_KEY"
            }),
            onSome: (llm) => ({
              name: DEMO_UPSTREAM,
              dialect: "openai",
              baseUrl: `${llm.url}/v1`,
              apiKey: Redacted.make("canned"),
              apiKeyEnv: ""
            })
          })
          const config: ServerConfigShape = {
            publicUrl,
            listen: { host: LOOPBACK, port: options.port },
            store: { kind: "pglite", dataDir: options.dataDir },
            keyEncryptionKey,
            oidc: { issuer: demo.issuer, clientId: demo.clientId, clientSecret: demo.clientSecret },
            // Ada administers the demo organisation; Grace is a member, to show what a member sees.
            roles: { orgAdmins: { people: ["ada"], groups: [] }, teamAdminGroupPrefix: "clawfleet-team-admins-" },
            upstreams: [upstream],
            provider: { kind: "local", gateway: { cacheDir: openclawCache } },
            tokenProxy: { port: options.port + 1 },
            egressProxy: { port: options.port + 2 },
            tools: { port: options.port + 3 },
            reconciler: { concurrency: 4 }
          }
          return Server.layer(config, {
            allowInsecureOidc: true,
            // What you delete in a development fleet is gone, its directory included; retries come soon.
            reconciler: { retention: "delete", resyncMs: 30_000, backoff: { baseMs: 200, capMs: 10_000 } }
          })
        })
      )

      const fleet = Layer.effect(
        DevFleet,
        Effect.gen(function* () {
          const running = yield* Server.Server
          return DevFleet.of({
            url: running.publicUrl,
            tokenProxyUrl: running.tokenProxyUrl,
            egressProxyUrl: running.egressProxyUrl,
            toolsUrl: running.toolsUrl,
            signInUrl: (yield* DemoOidc).issuer,
            openclawCache,
            fakeModel
          })
        })
      )
      return fleet.pipe(Layer.provideMerge(server), Layer.provideMerge(Layer.merge(oidc, model)))
    })
  )
