import { Schema } from "effect"
import { TenantSpec } from "../domain/Tenant.ts"
import type { TenantRuntime } from "../provider/TenantRuntime.ts"

/**
 * A compiled runtime for tests of providers, without a store: the shape the reconciler hands a
 * provider. Override any part to make the change a scenario needs.
 */
export const testRuntime = (tenant: string, overrides: Partial<Omit<TenantRuntime, "tenant">> = {}): TenantRuntime => ({
  tenant,
  generation: 1,
  owner: tenant,
  spec: Schema.decodeUnknownSync(TenantSpec)({
    owner: tenant,
    openclaw: { version: "2026.9.6" },
    resources: { cpu: "1", memory: "2Gi", storage: "10Gi" }
  }),
  access: { tenant, owner: tenant, skills: [], tools: [], knowledge: [], egress: [], models: ["gpt-4.1"] },
  openclaw: { version: "2026.9.6", config: { gateway: { mode: "local", bind: "loopback" } } },
  secrets: [{ env: "CLAWFLEET_GATEWAY_TOKEN", ref: { name: `tenant-${tenant}`, key: "gateway-token" } }],
  suspended: false,
  ...overrides
})
