import { Context, type Effect } from "effect"
import type { ProviderError } from "./ProviderError.ts"
import type { TenantRuntime } from "./TenantRuntime.ts"

/**
 * Capability levels, strongest first. A provider declares what it really enforces; the
 * conformance suite holds it to that.
 */
export interface Capabilities {
  /** dedicated-bucket: a cloud bucket per tenant; volume: a block volume; directory: a local folder. */
  readonly storage: "dedicated-bucket" | "volume" | "directory"
  /** cloud-iam: a cloud principal per tenant; service-account: a cluster identity; token: a bearer token. */
  readonly identity: "cloud-iam" | "service-account" | "token"
  /** enforced-fqdn / enforced-cidr: the platform blocks other egress; advisory: only the proxy settings ask. */
  readonly network: "enforced-fqdn" | "enforced-cidr" | "advisory"
  readonly features: {
    readonly suspend: boolean
    readonly idleWake: boolean
    readonly quota: boolean
  }
}

export interface ProviderDescription {
  readonly name: string
  readonly capabilities: Capabilities
}

/** One object a provider manages for a tenant (a namespace, a bucket, a process, a directory). */
export interface ManagedResource {
  readonly kind: string
  readonly name: string
  /** Its desired or observed content, as JSON. */
  readonly spec: unknown
  /**
   * `data` holds the tenant's data (kept on destroy when retention says keep); `workload` runs
   * the assistant (removed on suspend); anything else is `config`.
   */
  readonly role: "data" | "workload" | "config"
}

export type ChangeAction = "create" | "update" | "delete" | "unchanged"

export interface ResourceChange {
  readonly action: ChangeAction
  readonly kind: string
  readonly name: string
  /** Human-readable lines such as `spec.replicas: 1 -> 0`; empty unless updated. */
  readonly diff: ReadonlyArray<string>
}

export interface Plan {
  readonly tenant: string
  readonly generation: number
  readonly changes: ReadonlyArray<ResourceChange>
}

export interface Readiness {
  readonly ready: boolean
  /** CamelCase, like a Kubernetes condition reason. */
  readonly reason: string
  readonly message: string
}

export interface Observation {
  readonly tenant: string
  /** Whether anything of the tenant exists at all. */
  readonly exists: boolean
  readonly storage: Readiness
  readonly identity: Readiness
  readonly network: Readiness
  readonly workload: Readiness
  readonly endpoint?: string | undefined
  readonly resources: ReadonlyArray<{ readonly kind: string; readonly name: string }>
}

export type Retention = "keep" | "delete"

/**
 * The contract every runtime provider implements, as a Layer providing this service. All writes
 * are idempotent and level-triggered: calling `apply` twice with the same runtime changes nothing
 * the second time, whatever happened in between.
 */
export class RuntimeProvider extends Context.Service<
  RuntimeProvider,
  {
    readonly describe: ProviderDescription
    /** What `apply` would do now, as data; writes nothing. */
    readonly plan: (runtime: TenantRuntime) => Effect.Effect<Plan, ProviderError>
    /** Converges the world to the runtime; returns what it changed. */
    readonly apply: (runtime: TenantRuntime) => Effect.Effect<Plan, ProviderError>
    readonly observe: (tenant: string) => Effect.Effect<Observation, ProviderError>
    /**
     * Converges to the runtime with its workload stopped (removed, or scaled to zero), keeping
     * storage and identity. Idempotent, like `apply`.
     */
    readonly suspend: (runtime: TenantRuntime) => Effect.Effect<void, ProviderError>
    readonly resume: (runtime: TenantRuntime) => Effect.Effect<void, ProviderError>
    /** Removes everything the tenant owned; with `keep`, data resources stay. Idempotent. */
    readonly destroy: (tenant: string, options: { readonly data: Retention }) => Effect.Effect<void, ProviderError>
  }
>()("@clawfleet/core/RuntimeProvider") {}
