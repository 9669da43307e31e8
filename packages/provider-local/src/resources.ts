import { createHash } from "node:crypto"
import type { ManagedResource, TenantRuntime } from "@clawfleet/core"

/** The resource kind behind each capability, and the config beside them. */
export const Kinds = {
  storage: "directory",
  identity: "token",
  network: "egress",
  config: "config",
  workload: "process"
} as const

/** Names are paths under the data directory, so two tenants can never name the same thing. */
export const resourceNames = (tenant: string) => ({
  directory: `tenants/${tenant}`,
  token: `tenants/${tenant}/clawfleet/gateway-token`,
  egress: `tenants/${tenant}/clawfleet/egress.json`,
  config: `tenants/${tenant}/openclaw.json`,
  process: `tenants/${tenant}/gateway`
})

/** The gateway reaches itself (and, later, the tenant agent beside it) without the proxy. */
export const NO_PROXY = "127.0.0.1,localhost"

export const DIRECTORY_MODE = "0700"
export const FILE_MODE = "0600"

export interface EgressPolicy {
  /** Nothing on this machine stops a direct connection; the proxy settings only ask. */
  readonly enforcement: "advisory"
  readonly proxy: string | null
  readonly noProxy: string
  /** What the egress proxy lets this tenant reach (it decides; the record is for people). */
  readonly allow: TenantRuntime["access"]["egress"]
}

export interface ProcessSpec {
  readonly openclaw: string
  /** Of the rendered config: a new config means a new process. */
  readonly configSha256: string
  readonly egressProxy: string | null
  readonly secrets: TenantRuntime["secrets"]
  /** The tenant's requested size. Recorded, not enforced: nothing limits a local process. */
  readonly requested: TenantRuntime["spec"]["resources"]
}

// Keys in order, so the digest follows the content, not the order a renderer wrote it in.
const canonical = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(canonical)
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .flatMap((k) => {
          const v = (value as Record<string, unknown>)[k]
          return v === undefined ? [] : [[k, canonical(v)]]
        })
    )
  }
  return value
}

export const configDigest = (config: unknown) =>
  createHash("sha256")
    .update(JSON.stringify(canonical(config)))
    .digest("hex")

/** A running gateway must be restarted to take up any change but the recorded size. */
export const needsRestart = (running: ProcessSpec, wanted: ProcessSpec) => {
  const { requested: _a, ...before } = running
  const { requested: _b, ...after } = wanted
  return JSON.stringify(canonical(before)) !== JSON.stringify(canonical(after))
}

/**
 * Everything one tenant should have, in the order it can be created: its directory, its gateway
 * token, its egress settings, its OpenClaw config, and the gateway process last. Pure: the same
 * runtime always gives the same resources (the process's port is chosen when it starts).
 */
export const desiredResources = (runtime: TenantRuntime, egressProxyUrl: string | undefined): ReadonlyArray<ManagedResource> => {
  const names = resourceNames(runtime.tenant)
  const egress: EgressPolicy = {
    enforcement: "advisory",
    proxy: egressProxyUrl ?? null,
    noProxy: NO_PROXY,
    allow: runtime.access.egress
  }
  const process: ProcessSpec = {
    openclaw: runtime.openclaw.version,
    configSha256: configDigest(runtime.openclaw.config),
    egressProxy: egressProxyUrl ?? null,
    secrets: runtime.secrets,
    requested: runtime.spec.resources
  }
  return [
    { kind: Kinds.storage, name: names.directory, role: "data", spec: { mode: DIRECTORY_MODE } },
    // The token's value never appears in a plan: only that it exists, and who may read it.
    { kind: Kinds.identity, name: names.token, role: "config", spec: { mode: FILE_MODE } },
    { kind: Kinds.network, name: names.egress, role: "config", spec: { mode: FILE_MODE, policy: egress } },
    { kind: Kinds.config, name: names.config, role: "config", spec: { mode: FILE_MODE, openclaw: runtime.openclaw.config } },
    { kind: Kinds.workload, name: names.process, role: "workload", spec: process }
  ]
}
