import type { SecretRef } from "../domain/Names.ts"
import type { TenantSpec } from "../domain/Tenant.ts"
import type { EffectiveAccess } from "../grants/Grants.ts"

/**
 * Everything a provider needs to run one tenant, compiled by clawfleet from the store: providers
 * never read the store themselves. Plain data, so a plan is a pure function of it.
 */
export interface TenantRuntime {
  readonly tenant: string
  /** The spec generation this runtime was compiled from; status reports it back as observed. */
  readonly generation: number
  readonly owner: string
  readonly spec: TenantSpec
  readonly access: EffectiveAccess
  readonly openclaw: {
    readonly version: string
    readonly image?: string | undefined
    /** The rendered `openclaw.json` for that version. */
    readonly config: Readonly<Record<string, unknown>>
  }
  /**
   * Secrets the workload needs, by environment variable name. They are references only: the
   * provider wires them from where they live (a Kubernetes Secret, a vault), never their values.
   */
  readonly secrets: ReadonlyArray<{ readonly env: string; readonly ref: SecretRef }>
  /** True when the tenant is suspended: storage and identity stay, the workload goes. */
  readonly suspended: boolean
}
