import type { DateTime } from "effect"
import { type Condition, type ConditionType, type Tenant, type TenantPhase, TenantStatus } from "../domain/Tenant.ts"
import type { Observation, Readiness } from "../provider/RuntimeProvider.ts"

export interface Failure {
  readonly reason: string
  readonly message: string
  readonly retryable: boolean
}

// Reasons and messages come from providers and errors, which may say anything; a status is built
// without checks (it runs on every pass), so what goes in is made valid here.
const REASON = /^[A-Za-z][A-Za-z0-9]*$/
const validReason = (reason: string) => {
  if (REASON.test(reason)) return reason
  const cleaned = reason.replace(/[^A-Za-z0-9]/g, "").replace(/^[0-9]+/, "")
  return cleaned === "" ? "Unknown" : cleaned
}
const validText = (text: string, max: number) =>
  text.length <= max && text.isWellFormed() && !text.includes("\u0000") ? text : text.replaceAll("\u0000", "").slice(0, max).toWellFormed()

const cond = (type: ConditionType, r: Readiness, generation: number, now: DateTime.Utc, previous: ReadonlyArray<Condition>) => {
  const status = r.ready ? "True" : "False"
  const before = previous.find((c) => c.type === type)
  // As in Kubernetes, the transition time moves only when the status itself flips.
  const lastTransitionTime = before !== undefined && before.status === status ? before.lastTransitionTime : now
  // Built from values that were already valid; skipping the checks matters on every pass.
  const condition: Condition = {
    type,
    status,
    reason: validReason(r.reason),
    message: validText(r.message, 32_768),
    lastTransitionTime,
    observedGeneration: generation
  }
  return condition
}

/**
 * The status a tenant should carry after a pass: one condition per capability plus Ready, the
 * phase they add up to, and the generation the pass worked from.
 */
export const statusFrom = (
  tenant: Tenant,
  generation: number,
  observation: Observation | undefined,
  failure: Failure | undefined,
  now: DateTime.Utc
): TenantStatus => {
  const previous = tenant.status.conditions
  const unknown: Readiness = { ready: false, reason: "NotObserved", message: "not observed yet" }
  const o = observation ?? { storage: unknown, identity: unknown, network: unknown, workload: unknown }
  const suspended = tenant.spec.suspended
  const workload: Readiness = suspended && !o.workload.ready ? { ready: false, reason: "Suspended", message: "suspended" } : o.workload
  const allReady = o.storage.ready && o.identity.ready && o.network.ready && workload.ready
  const ready: Readiness = failure
    ? { ready: false, reason: failure.reason, message: failure.message }
    : allReady
      ? { ready: true, reason: "AllReady", message: "storage, identity, network and workload are ready" }
      : suspended
        ? { ready: false, reason: "Suspended", message: "suspended" }
        : { ready: false, reason: "Converging", message: "waiting for the provider to converge" }
  const phase: TenantPhase =
    tenant.deletionRequestedAt !== undefined
      ? "Deleting"
      : failure && !failure.retryable
        ? "Failed"
        : allReady && !failure
          ? "Ready"
          : suspended && !failure
            ? "Suspended"
            : "Provisioning"
  return new TenantStatus(
    {
      ...tenant.status,
      phase,
      observedGeneration: failure ? tenant.status.observedGeneration : generation,
      conditions: [
        cond("StorageReady", o.storage, generation, now, previous),
        cond("IdentityReady", o.identity, generation, now, previous),
        cond("NetworkReady", o.network, generation, now, previous),
        cond("WorkloadReady", workload, generation, now, previous),
        cond("Ready", ready, generation, now, previous)
      ],
      ...(observation?.endpoint !== undefined ? { endpoint: validText(observation.endpoint, 2048) } : {})
    },
    { disableChecks: true }
  )
}

/** Whether writing `next` would tell anybody something `current` does not. */
// Field by field rather than by encoding both: this runs on every pass of every tenant.
// lastTransitionTime follows from the rest (it moves only when a status flips), so it is skipped.
export const statusChanged = (current: TenantStatus, next: TenantStatus): boolean => {
  if (
    current.phase !== next.phase ||
    current.observedGeneration !== next.observedGeneration ||
    current.endpoint !== next.endpoint ||
    current.lastActivity?.epochMilliseconds !== next.lastActivity?.epochMilliseconds ||
    current.conditions.length !== next.conditions.length
  ) {
    return true
  }
  return next.conditions.some((c, i) => {
    const d = current.conditions[i]!
    return (
      c.type !== d.type ||
      c.status !== d.status ||
      c.reason !== d.reason ||
      c.message !== d.message ||
      c.observedGeneration !== d.observedGeneration
    )
  })
}
