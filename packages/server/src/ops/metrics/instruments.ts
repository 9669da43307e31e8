import type { RefusalReason } from "@clawfleet/core"
import type { Counter, Gauge, Histogram, Registry } from "./Registry.ts"

// No metric here is labelled by tenant or person: with thousands of assistants every label value
// is a time series in Prometheus, and per-tenant figures live in the store (usage, status) already.

/** How a reconcile attempt of one tenant ended, as the reconciler's events tell it. */
export type PassOutcome = "Reconciled" | "Failed" | "Deleted" | "Busy"

export interface ReconcilerInstruments {
  readonly queueDepth: Gauge<never>
  readonly passes: Counter<"outcome">
  readonly failures: Counter<"reason">
  readonly changes: Counter<never>
  readonly idleSuspensions: Counter<never>
}

export const reconcilerInstruments = (r: Registry): ReconcilerInstruments => ({
  queueDepth: r.gauge("clawfleet_reconciler_queue_depth", "Tenants queued, waiting to retry or being reconciled by this replica."),
  passes: r.counter(
    "clawfleet_reconcile_passes_total",
    "Reconcile attempts by how they ended: Reconciled, Failed, Deleted, or Busy (another replica held the tenant).",
    ["outcome"]
  ),
  failures: r.counter(
    "clawfleet_reconcile_failures_total",
    "Failed reconcile attempts by reason (ProviderUnavailable, StoreConflict, ...).",
    ["reason"]
  ),
  changes: r.counter("clawfleet_reconcile_changes_total", "Objects the runtime provider created, updated or deleted while reconciling."),
  idleSuspensions: r.counter("clawfleet_tenants_idle_suspended_total", "Assistants suspended because they were idle past their policy.")
})

/** Provider calls take most of a reconcile pass: cloud APIs and clusters answer in seconds, not milliseconds. */
const PROVIDER_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

export interface ProviderInstruments {
  readonly calls: Histogram<"provider" | "operation" | "result">
}

export const providerInstruments = (r: Registry): ProviderInstruments => ({
  calls: r.histogram(
    "clawfleet_provider_call_duration_seconds",
    "Runtime provider calls (apply, observe, destroy, ...) by provider, operation and result (ok or error).",
    ["provider", "operation", "result"],
    PROVIDER_BUCKETS
  )
})

/** The routes of the token proxy; anything else is counted as `other`, so a scanner cannot add series. */
export const TOKEN_PROXY_ROUTES: ReadonlyArray<string> = ["/v1/chat/completions", "/v1/responses", "/v1/messages", "/v1/models"]

/** Model calls stream for minutes: buckets reach well past the usual 10 s. */
const TOKEN_PROXY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]

/** What the token proxy, or whatever wraps it, reports. */
export interface TokenProxyInstruments {
  /** One answered request: its path, HTTP status, and seconds from its arrival to the end of the response (a whole stream). */
  readonly request: (r: { readonly route: string; readonly status: number; readonly seconds: number }) => void
  /** A request the metering refused before it went upstream: a budget, a rate limit or a duplicate id. */
  readonly refusal: (reason: RefusalReason) => void
}

export const tokenProxyInstruments = (r: Registry): TokenProxyInstruments => {
  const requests = r.counter("clawfleet_token_proxy_requests_total", "Token proxy requests by route and HTTP status.", ["route", "status"])
  const duration = r.histogram(
    "clawfleet_token_proxy_request_duration_seconds",
    "Token proxy requests from arrival to the last byte of the response, streams included.",
    ["route"],
    TOKEN_PROXY_BUCKETS
  )
  const refusals = r.counter(
    "clawfleet_token_proxy_budget_refusals_total",
    "Requests refused before going upstream, by reason: MonthlyTokens, MonthlyMicros, RequestsPerMinute, TokensPerMinute, DuplicateRequest.",
    ["reason"]
  )
  return {
    request: ({ route, status, seconds }) => {
      const known = TOKEN_PROXY_ROUTES.includes(route) ? route : "other"
      requests.inc({ route: known, status: String(status) })
      duration.observe({ route: known }, seconds)
    },
    refusal: (reason) => refusals.inc({ reason })
  }
}

/** The process itself, read at scrape time. */
export const processInstruments = (r: Registry) => {
  const startedAt = Date.now() / 1000 - process.uptime()
  r.gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.").collectWith({}, () => startedAt)
  r.gauge("process_resident_memory_bytes", "Resident memory size in bytes.").collectWith({}, () => process.memoryUsage.rss())
}
