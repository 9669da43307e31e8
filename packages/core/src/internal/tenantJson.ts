import { type DateTime, Schema } from "effect"
import { type Condition, Tenant, TenantSpec, type TenantStatus } from "../domain/Tenant.ts"

// Reconcile passes write tenant status all day; the generic schema encoder costs more than the
// rest of a status write together. Status is encoded by hand here (a property test holds it equal
// to the schema's encoding), and a spec, which does not change between status writes, is encoded
// once per instance.

// A pass stamps all its conditions with one instant: remembering the last one formats it once.
let lastMs = Number.NaN
let lastIso = ""
const iso = (t: DateTime.Utc) => {
  if (t.epochMilliseconds !== lastMs) {
    lastMs = t.epochMilliseconds
    lastIso = new Date(lastMs).toISOString()
  }
  return lastIso
}

const conditionJson = (c: Condition) => ({
  type: c.type,
  status: c.status,
  reason: c.reason,
  message: c.message,
  lastTransitionTime: iso(c.lastTransitionTime),
  observedGeneration: c.observedGeneration
})

/** The schema's encoding of a status that is valid (status values are built valid, see status.ts). */
export const statusJson = (s: TenantStatus) => ({
  phase: s.phase,
  conditions: s.conditions.map(conditionJson),
  observedGeneration: s.observedGeneration,
  ...(s.endpoint !== undefined ? { endpoint: s.endpoint } : {}),
  ...(s.lastActivity !== undefined ? { lastActivity: iso(s.lastActivity) } : {})
})

const encodeSpec = Schema.encodeSync(TenantSpec)
const specs = new WeakMap<TenantSpec, unknown>()
const specJson = (spec: TenantSpec) => {
  let json = specs.get(spec)
  if (json === undefined) specs.set(spec, (json = encodeSpec(spec)))
  return json
}

const encodeTenant = Schema.encodeSync(Tenant)

/** Equal to `Schema.encodeSync(Tenant)`; the spec is checked by the schema, the rest was checked when built. */
export const tenantJson = (t: Tenant): unknown => {
  // A value that is not a Tenant instance (or a subclass) gets the schema's full treatment.
  if (!(t instanceof Tenant) || !(t.spec instanceof TenantSpec)) return encodeTenant(t)
  return {
    name: t.name,
    spec: specJson(t.spec),
    status: statusJson(t.status),
    generation: t.generation,
    ...(t.deletionRequestedAt !== undefined ? { deletionRequestedAt: iso(t.deletionRequestedAt) } : {})
  }
}
