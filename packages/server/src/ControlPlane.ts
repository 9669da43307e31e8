import {
  ApiTokens,
  Fleet,
  Grants,
  Knowledge,
  Metering,
  OidcSignIn,
  OpenClawConfig,
  type OpenClawConfigOptions,
  PairingLinks,
  type Person,
  Secrets,
  SigningKeys,
  SkillBundles,
  type Store,
  TenantCredentials,
  TenantGate,
  Tokens,
  VirtualKeys
} from "@clawfleet/core"
import { Layer, type Redacted } from "effect"
import type { SqlClient } from "effect/sql"

export interface ControlPlaneOptions {
  /** Where people and tenant agents reach the control plane, e.g. `https://clawfleet.example.com`. */
  readonly publicUrl: string
  /**
   * 32 bytes, base64. Seals signing keys and the tenants' platform keys in the store: the store
   * alone opens none of them.
   */
  readonly keyEncryptionKey: Redacted.Redacted<string>
  /** The organisation's OpenID provider, and this control plane as its client. */
  readonly oidc: {
    readonly issuer: string
    readonly clientId: string
    readonly clientSecret: Redacted.Redacted<string>
    /** Plain-http providers: development only. */
    readonly allowInsecureRequests?: boolean | undefined
  }
  /** Who administers the fleet. */
  readonly isAdmin?: ((person: Person) => boolean) | undefined
  /** Where tenants' configs point their models, tools and egress. */
  readonly openclaw: OpenClawConfigOptions
  /**
   * Secrets that are not tenants' platform keys (MCP tools' API keys and the like). Default:
   * `Secrets.layerEnv()`, the `CLAWFLEET_SECRET_*` variables of this process.
   */
  readonly secrets?: Layer.Layer<Secrets> | undefined
}

/** The path of the sign-in callback under `publicUrl`: what the OpenID client must allow. */
export const CALLBACK_PATH = "/auth/callback"

/**
 * Every service of the control plane over a store of your choice: the fleet, sign-in, tokens,
 * pairing, the tenants' platform keys (through `Secrets`), the proxies' gate and metering, skill
 * bundles, knowledge, and the reconciler's compiler. The store layer provides its `SqlClient` too:
 * metering and knowledge live in the same database, e.g.
 * `Store.layerSql().pipe(Layer.provideMerge(Store.pgliteClient({ dataDir })))`.
 */
export const layer = (options: ControlPlaneOptions, store: Layer.Layer<Store.Services | SqlClient.SqlClient>) => {
  // Not `Clawfleet.layer`: its result keeps the store's services only, and metering and knowledge
  // need the store's SqlClient too.
  const fleet = Fleet.layer.pipe(Layer.provideMerge(Grants.layer), Layer.provideMerge(store))
  const keys = Layer.mergeAll(VirtualKeys.layer, SigningKeys.layer({ keyEncryptionKey: options.keyEncryptionKey }))
  const tenantKeys = TenantCredentials.layer({ keyEncryptionKey: options.keyEncryptionKey })
  const secrets = TenantCredentials.layerSecrets.pipe(Layer.provide(options.secrets ?? Secrets.layerEnv()), Layer.provideMerge(tenantKeys))
  const identity = Layer.mergeAll(
    PairingLinks.layer,
    ApiTokens.layer,
    OidcSignIn.layer({
      issuer: options.oidc.issuer,
      clientId: options.oidc.clientId,
      clientSecret: options.oidc.clientSecret,
      redirectUri: new URL(CALLBACK_PATH, options.publicUrl).href,
      postLogoutRedirectUri: new URL("/", options.publicUrl).href,
      scopes: ["email", "profile"],
      ...(options.oidc.allowInsecureRequests ? { allowInsecureRequests: true } : {})
    })
  ).pipe(Layer.provideMerge(Tokens.layer({ issuer: new URL(options.publicUrl).origin })))
  const proxies = Layer.mergeAll(TenantGate.layer, SkillBundles.layer, Metering.layerSql(), Knowledge.layerSql())
  const compiler = OpenClawConfig.runtimeCompiler.pipe(Layer.provideMerge(OpenClawConfig.layer(options.openclaw)), Layer.orDie)
  return Layer.mergeAll(identity, proxies, compiler).pipe(Layer.provideMerge(secrets), Layer.provideMerge(keys), Layer.provideMerge(fleet))
}
