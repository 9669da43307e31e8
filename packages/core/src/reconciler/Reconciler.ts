import { Clock, Context, DateTime, Effect, Layer, PubSub, Random, Schedule, type Scope, Stream } from "effect"
import { Tenant, TenantSpec } from "../domain/Tenant.ts"
import { isStoreError } from "../Errors.ts"
import { ProviderError } from "../provider/ProviderError.ts"
import { RuntimeProvider } from "../provider/RuntimeProvider.ts"
import { auditDraft } from "../store/auditDraft.ts"
import { RecordStore } from "../store/RecordStore.ts"
import { Tables } from "../store/Tables.ts"
import { Tenants } from "../Tenants.ts"
import { RuntimeCompiler } from "./RuntimeCompiler.ts"
import { type Failure, statusChanged, statusFrom } from "./status.ts"
import { makeWorkQueue } from "./WorkQueue.ts"

export interface ReconcilerOptions {
  /** Tenants worked on at once by this replica. */
  readonly concurrency: number
  /** Every tenant is looked at again this often, to repair drift nobody reported. */
  readonly resyncMs: number
  /** Retry delays grow from `baseMs` to `capMs`, with full jitter. */
  readonly backoff: { readonly baseMs: number; readonly capMs: number }
  /** How long this replica's claim on a tenant lasts if it dies mid-pass. */
  readonly claimTtlMs: number
  /** What happens to tenant data when a tenant is deleted. */
  readonly retention: "keep" | "delete"
  /** This replica's name in claims; unique per process by default. */
  readonly holder: string
  /**
   * How often the audit log is read for changes made anywhere (this process, another replica, a
   * script): a tenant's change queues that tenant, a change to grants, people or the catalog
   * queues every tenant. Default 1 s; 0 turns it off, leaving `resyncMs` and `enqueue`.
   */
  readonly watchMs?: number | undefined
}

export const ReconcilerConfig = Context.Reference<ReconcilerOptions>("@clawfleet/core/ReconcilerConfig", {
  defaultValue: () => ({
    concurrency: 16,
    resyncMs: 5 * 60_000,
    backoff: { baseMs: 200, capMs: 5 * 60_000 },
    claimTtlMs: 60_000,
    retention: "keep",
    holder: `reconciler-${process.pid}-${crypto.randomUUID().slice(0, 8)}`
  })
})

export type ReconcileEvent =
  | { readonly type: "Reconciled"; readonly tenant: string; readonly generation: number; readonly changes: number; readonly phase: string }
  | { readonly type: "Failed"; readonly tenant: string; readonly reason: string; readonly message: string; readonly retryInMs?: number }
  | { readonly type: "Deleted"; readonly tenant: string }
  | { readonly type: "Busy"; readonly tenant: string }
  | { readonly type: "IdleSuspended"; readonly tenant: string; readonly idleMinutes: number }

type Outcome = { readonly retryAfterMs?: number | undefined }
const settled: Outcome = {}

/**
 * Level-triggered: a pass re-reads the tenant and the provider's view and converges them, whatever
 * happened before. Work is keyed by tenant and deduplicated; a claim in the store keeps replicas
 * off each other's tenants; failures retry with capped, jittered backoff; a periodic resync
 * repairs drift. Deletion is a finalizer: destroy in the provider, then remove the record.
 */
export class Reconciler extends Context.Service<
  Reconciler,
  {
    /** One pass over one tenant, now. Never fails: problems land in status and events. */
    readonly reconcile: (tenant: string) => Effect.Effect<void>
    /** Asks for a pass soon; repeated asks before it starts count once. */
    readonly enqueue: (tenant: string) => Effect.Effect<void>
    /** Queues every tenant in the store. */
    readonly resyncAll: Effect.Effect<void>
    /** Runs the workers and the resync timer until the scope closes. */
    readonly start: Effect.Effect<void, never, Scope.Scope>
    /** Queued, retrying or in-flight work. */
    readonly pending: () => number
    readonly events: Stream.Stream<ReconcileEvent>
  }
>()("@clawfleet/core/Reconciler") {
  static readonly layer = Layer.effect(
    Reconciler,
    Effect.gen(function* () {
      const config = yield* ReconcilerConfig
      const store = yield* RecordStore
      const tenants = yield* Tenants
      const provider = yield* RuntimeProvider
      const compiler = yield* RuntimeCompiler
      const events = yield* PubSub.unbounded<ReconcileEvent>()
      const queue = yield* makeWorkQueue
      const failures = new Map<string, number>()
      const waiting = new Map<string, number>()
      const emit = (e: ReconcileEvent) => Effect.asVoid(PubSub.publish(events, e))

      const now = Effect.map(Clock.currentTimeMillis, (ms) => DateTime.makeUnsafe(ms) as DateTime.Utc)

      const writeStatus = (name: string, version: number, tenant: Tenant, next: Tenant["status"]) =>
        statusChanged(tenant.status, next) ? Effect.asVoid(tenants.writeStatus(name, version, next, tenant)) : Effect.void

      // A tenant idle past its policy is suspended like any other (audited, a new generation), so
      // the rest of the pass and every later one see the same intent; resuming wakes it.
      const suspendIfIdle = Effect.fnUntraced(function* (found: { readonly value: Tenant; readonly version: number }) {
        const t = found.value
        const limit = t.spec.idle.suspendAfterMinutes
        const last = t.status.lastActivity
        if (t.spec.suspended || limit === undefined || last === undefined) return found
        if ((yield* Clock.currentTimeMillis) - last.epochMilliseconds < limit * 60_000) return found
        const next = new Tenant({ ...t, spec: new TenantSpec({ ...t.spec, suspended: true }), generation: t.generation + 1 })
        const written = yield* tenants.update(next, found.version, { action: "tenant.idle-suspend" })
        yield* emit({ type: "IdleSuspended", tenant: t.name, idleMinutes: limit })
        return written
      })

      // A key names its tenant, not one life of it: left behind, it would open a later tenant of
      // the same name. Removed with the record, in its transaction, each removal audited.
      const forgetKeys = (name: string) =>
        Effect.gen(function* () {
          const audit = (table: "virtual_keys" | "tenant_credentials", id: string) =>
            auditDraft(`${table}.delete`, { kind: Tables[table], id })
          for (;;) {
            // Removed ones are gone from the next page: always read the first.
            const keys = yield* store.list("virtual_keys", { limit: 500, where: [["tenant", name]] })
            for (const key of keys) yield* store.remove("virtual_keys", key.id, key.version, yield* audit("virtual_keys", key.id))
            if (keys.length < 500) break
          }
          const credential = yield* store.get("tenant_credentials", name)
          if (credential !== undefined) {
            yield* store.remove("tenant_credentials", name, credential.version, yield* audit("tenant_credentials", name))
          }
        })

      const pass = Effect.fnUntraced(function* (name: string) {
        const read = yield* tenants.find(name)
        if (read === undefined) return settled
        const found = read.value.deletionRequestedAt === undefined ? yield* suspendIfIdle(read) : read
        const tenant = found.value
        if (tenant.deletionRequestedAt !== undefined) {
          yield* provider.destroy(name, { data: config.retention })
          yield* store.transaction(Effect.andThen(tenants.remove(name, found.version), forgetKeys(name)))
          yield* emit({ type: "Deleted", tenant: name })
          return settled
        }
        const runtime = yield* compiler.compile(tenant)
        // A suspended tenant converges too (config, grants), only with its workload stopped.
        const plan = yield* provider.apply(runtime)
        const observation = yield* provider.observe(name)
        const status = statusFrom(tenant, runtime.generation, observation, undefined, yield* now)
        yield* writeStatus(name, found.version, tenant, status)
        yield* emit({
          type: "Reconciled",
          tenant: name,
          generation: runtime.generation,
          changes: plan.changes.filter((c) => c.action !== "unchanged").length,
          phase: status.phase
        })
        // Not there yet (a pod starting, a volume binding): look again soon, backing off, rather
        // than wait for the next resync. Nothing reports readiness to us but the provider.
        if (status.phase !== "Provisioning") {
          waiting.delete(name)
          return settled
        }
        const attempt = (waiting.get(name) ?? 0) + 1
        waiting.set(name, attempt)
        return { retryAfterMs: yield* backoffMs(attempt) } as Outcome
      })

      const backoffMs = (attempt: number) =>
        Effect.map(Random.next, (r) => Math.round(r * Math.min(config.backoff.capMs, config.backoff.baseMs * 2 ** attempt)))

      // Records a failure in status (best effort: a status conflict just means a newer pass is due).
      const fail = Effect.fnUntraced(function* (name: string, failure: Failure) {
        const attempt = (failures.get(name) ?? 0) + 1
        failures.set(name, attempt)
        const retryInMs = failure.retryable ? yield* backoffMs(attempt) : config.backoff.capMs
        const found = yield* Effect.orElseSucceed(tenants.find(name), () => undefined)
        if (found !== undefined) {
          const status = statusFrom(found.value, found.value.generation, undefined, failure, yield* now)
          yield* Effect.ignore(writeStatus(name, found.version, found.value, status))
        }
        yield* emit({ type: "Failed", tenant: name, reason: failure.reason, message: failure.message, retryInMs })
        return { retryAfterMs: retryInMs } as Outcome
      })

      const reconcileClaimed = (name: string): Effect.Effect<Outcome> =>
        Effect.gen(function* () {
          const claimed = yield* Effect.orElseSucceed(store.claim(`tenant:${name}`, config.holder, config.claimTtlMs), () => false)
          if (!claimed) {
            yield* emit({ type: "Busy", tenant: name })
            return { retryAfterMs: Math.max(50, Math.round(config.claimTtlMs / 4)) }
          }
          const outcome = yield* pass(name).pipe(
            Effect.tap(() => Effect.sync(() => failures.delete(name))),
            Effect.catch((e) =>
              fail(name, {
                reason: e instanceof ProviderError ? `Provider${e.reason}` : isStoreError(e) ? `Store${e.reason._tag}` : e._tag,
                message: e.message,
                retryable: "isRetryable" in e ? e.isRetryable : false
              })
            ),
            // A bug in a renderer or provider must not take a worker down with it: the tenant is
            // marked failed and looked at again after the longest backoff, the others go on.
            Effect.catchDefect((defect) =>
              fail(name, { reason: "Defect", message: defect instanceof Error ? defect.message : String(defect), retryable: false })
            ),
            Effect.ensuring(Effect.ignore(store.release(`tenant:${name}`, config.holder)))
          )
          return outcome
        })

      const worker = Effect.forever(
        Effect.gen(function* () {
          const name = yield* queue.take
          // The retry is scheduled before the key is released, so the key is never seen as settled in between.
          yield* reconcileClaimed(name).pipe(
            Effect.tap((outcome) => (outcome.retryAfterMs !== undefined ? queue.addAfter(name, outcome.retryAfterMs) : Effect.void)),
            Effect.ensuring(queue.done(name))
          )
        })
      )

      // Page by page, so workers start on the first page while the rest is still being read.
      const resyncAll = Effect.gen(function* () {
        let cursor: string | undefined
        do {
          const page = yield* Effect.orElseSucceed(tenants.list({ limit: 200, cursor }), () => ({ items: [], next: undefined }))
          for (const t of page.items) yield* queue.add(t.value.name)
          cursor = page.next
          yield* Effect.yieldNow
        } while (cursor !== undefined)
      })

      // Changes that reach every tenant's access or config; a tenant's own are queued by name.
      const fleetWide = new Set([
        Tables.grants,
        Tables.people,
        Tables.teams,
        Tables.departments,
        Tables.skills,
        Tables.tools,
        Tables.knowledge_bases,
        Tables.egress_domains,
        Tables.models
      ])

      // The audit log is every replica's change feed: each write that matters is in it, in order,
      // and reading it from where this replica left off misses none. Level-triggered all the same:
      // what it queues is reconciled from the store as it is, and the resync still runs.
      const watch = (everyMs: number) =>
        Effect.gen(function* () {
          let seq = (yield* store.auditHead.pipe(Effect.retry(Schedule.spaced(everyMs)))).seq
          while (true) {
            yield* Effect.sleep(everyMs)
            const read = yield* Effect.result(store.listAudit(seq, 500))
            if (read._tag === "Failure") continue
            let resync = false
            for (const event of read.success) {
              seq = event.seq
              if (event.target.kind === Tables.tenants) yield* queue.add(event.target.id)
              else if (fleetWide.has(event.target.kind as never)) resync = true
            }
            if (resync) yield* resyncAll
          }
        })

      return Reconciler.of({
        reconcile: (name) => Effect.asVoid(reconcileClaimed(name)),
        enqueue: queue.add,
        resyncAll,
        start: Effect.gen(function* () {
          for (let i = 0; i < config.concurrency; i++) yield* Effect.forkScoped(worker)
          yield* Effect.forkScoped(Effect.repeat(resyncAll, Schedule.spaced(config.resyncMs)))
          const watchMs = config.watchMs ?? 1_000
          if (watchMs > 0) yield* Effect.forkScoped(watch(watchMs))
        }),
        pending: queue.size,
        events: Stream.fromPubSub(events)
      })
    })
  )
}
