import { describe, expect, it } from "@effect/vitest"
import { DateTime, Schema } from "effect"
import fc from "fast-check"
import { type Condition, Tenant, TenantSpec, TenantStatus } from "../src/domain/Tenant.ts"
import { tenantJson } from "../src/internal/tenantJson.ts"

const date = fc.integer({ min: 0, max: 4_102_444_800_000 }).map((ms) => DateTime.makeUnsafe(ms) as DateTime.Utc)
const condition = fc
  .record({
    type: fc.constantFrom("StorageReady", "IdentityReady", "NetworkReady", "WorkloadReady", "Ready"),
    status: fc.constantFrom("True", "False", "Unknown"),
    reason: fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,20}$/),
    message: fc.string({ maxLength: 40, unit: "grapheme" }),
    lastTransitionTime: date,
    observedGeneration: fc.integer({ min: 0, max: 1000 })
  })
  .map((c): Condition => c)
const status = fc
  .record(
    {
      phase: fc.constantFrom("Pending", "Provisioning", "Ready", "Suspended", "Failed", "Deleting"),
      conditions: fc.array(condition, { maxLength: 5 }),
      observedGeneration: fc.integer({ min: 0, max: 1000 }),
      endpoint: fc.webUrl(),
      lastActivity: date
    },
    { requiredKeys: ["phase", "conditions", "observedGeneration"] }
  )
  .map((s) => new TenantStatus(s))
const spec = fc
  .record(
    {
      owner: fc.constantFrom("ada", "bob-2"),
      openclaw: fc.constantFrom({ version: "2026.9.6" }, { version: "2026.9.6", image: "registry.example.com/openclaw:1" }),
      resources: fc.constant({ cpu: "500m", memory: "1Gi", storage: "5Gi" }),
      suspended: fc.boolean(),
      idle: fc.constantFrom({}, { suspendAfterMinutes: 30 }),
      models: fc.constantFrom({}, { default: "gpt-4o" })
    },
    { requiredKeys: ["owner", "openclaw", "resources"] }
  )
  .map((s) => new TenantSpec(s as ConstructorParameters<typeof TenantSpec>[0]))
const tenant = fc
  .record(
    { name: fc.constantFrom("ada", "bob-2"), spec, status, generation: fc.integer({ min: 1, max: 99 }), deletionRequestedAt: date },
    { requiredKeys: ["name", "spec", "status", "generation"] }
  )
  .map((t) => new Tenant(t as ConstructorParameters<typeof Tenant>[0]))

describe("tenantJson", () => {
  it("encodes exactly as the Tenant schema does", () => {
    const encode = Schema.encodeSync(Tenant)
    fc.assert(
      fc.property(tenant, (t) => {
        expect(tenantJson(t)).toStrictEqual(encode(t))
        // And twice, when the spec's encoding comes from the cache.
        expect(tenantJson(new Tenant({ ...t, status: TenantStatus.initial }))).toStrictEqual(
          encode(new Tenant({ ...t, status: TenantStatus.initial }))
        )
      })
    )
  })
})
