import { Clock, Context, Effect, Layer } from "effect"
import { Catalog } from "../Catalog.ts"
import type { Model, Tool } from "../domain/Catalog.ts"
import type { Budget } from "../domain/Tenant.ts"
import type { StoreError } from "../Errors.ts"
import { type AccessIndex, coveringNames } from "../grants/AccessIndex.ts"
import { Grants } from "../grants/Grants.ts"
import { type AuditDraft, RecordStore } from "../store/RecordStore.ts"
import { makeRevisionCache } from "../store/revisionCache.ts"
import type { Table } from "../store/Tables.ts"
import { Tenants } from "../Tenants.ts"
import { makeBatcher } from "./internal/batcher.ts"
import { hashKey, VirtualKeys } from "./VirtualKeys.ts"

const GATE_TABLES: ReadonlyArray<Table> = [
  "virtual_keys",
  "tenants",
  "people",
  "teams",
  "departments",
  "grants",
  "models",
  "egress_domains",
  "tools",
  "knowledge_bases"
]

const MAX_CACHED_IDENTITIES = 100_000

interface View {
  readonly revision: number
  readonly index: AccessIndex
  readonly models: ReadonlyMap<string, Model>
  readonly egress: ReadonlySet<string>
  readonly tools: ReadonlyMap<string, Tool>
  readonly knowledge: ReadonlySet<string>
  readonly identities: Map<string, TenantIdentity | undefined>
}

/** Who presented a tenant token: the tenant, the person it belongs to, and its budget. */
export interface TenantIdentity {
  readonly tenant: string
  readonly owner: string
  readonly budget?: Budget | undefined
}

/**
 * What the proxies ask of the fleet on every request or connection, kept narrow so each proxy can
 * be tested with a gate of its own and embedded without the rest. Every answer is current: a
 * revoked key or grant is seen by the next call.
 */
export class TenantGate extends Context.Service<
  TenantGate,
  {
    /** The tenant a token (virtual key) belongs to; undefined when unknown, revoked, or its tenant is suspended or gone. */
    readonly authenticate: (token: string) => Effect.Effect<TenantIdentity | undefined, StoreError>
    /** Whether the tenant's effective access allows this host (a canonical lower-case name). */
    readonly allowsEgress: (identity: TenantIdentity, host: string) => Effect.Effect<boolean, StoreError>
    /** The catalog model when it exists and the tenant's owner is granted it. */
    readonly grantedModel: (identity: TenantIdentity, name: string) => Effect.Effect<Model | undefined, StoreError>
    /** The catalog tool (MCP server) when it exists and the tenant's owner is granted it. */
    readonly grantedTool: (identity: TenantIdentity, name: string) => Effect.Effect<Tool | undefined, StoreError>
    /** Whether the knowledge base exists and the tenant's owner is granted it. */
    readonly grantedKnowledge: (identity: TenantIdentity, name: string) => Effect.Effect<boolean, StoreError>
    /** Every catalog model the tenant's owner is granted, by name. */
    readonly grantedModels: (identity: TenantIdentity) => Effect.Effect<ReadonlyArray<Model>, StoreError>
    /** Appends a decision to the audit log. */
    readonly audit: (draft: AuditDraft) => Effect.Effect<void, StoreError>
  }
>()("@clawfleet/core/TenantGate") {
  /** Over the fleet's own services: virtual keys, tenants, grants and the catalog. */
  static readonly layer = Layer.effect(
    TenantGate,
    Effect.gen(function* () {
      const store = yield* RecordStore
      const keys = yield* VirtualKeys
      const tenants = yield* Tenants
      const grants = yield* Grants
      const catalog = yield* Catalog
      const catalogNow = yield* makeRevisionCache(
        store,
        ["models", "egress_domains", "tools", "knowledge_bases"],
        Effect.map(
          Effect.all([catalog.models.all, catalog.egressDomains.all, catalog.tools.all, catalog.knowledgeBases.all]),
          ([models, egress, tools, knowledge]) => ({
            models: new Map(models.map((m) => [m.value.name as string, m.value])),
            egress: new Set(egress.map((e) => e.value.name as string)),
            tools: new Map(tools.map((t) => [t.value.name as string, t.value])),
            knowledge: new Set(knowledge.map((k) => k.value.name as string))
          })
        )
      )

      const context = yield* Effect.context<never>()
      // Proxies ask on every request. One revision read covers every table an answer depends on;
      // while it stands, answers already worked out are reused, and any write to those tables
      // (a revoked key, a suspended tenant, a changed grant) drops them all before the next answer.
      // Reads are gathered too: callers that arrive while one read is in flight share the next,
      // which starts after they arrived, so what they see is never older than their arrival.
      const readRevision = makeBatcher((callers: ReadonlyArray<void>) =>
        Effect.runPromiseExitWith(context)(Effect.map(store.revision(GATE_TABLES), (revision) => callers.map(() => revision)))
      )
      let view: View | undefined
      const current = Effect.gen(function* () {
        const revision = yield* Effect.flatten(Effect.promise(() => readRevision(undefined)))
        if (view !== undefined && view.revision === revision) return view
        const [index, cat] = yield* Effect.all([grants.snapshot, catalogNow])
        const next: View = { revision, index, ...cat, identities: new Map() }
        view = next
        return next
      })

      const lookup = Effect.fnUntraced(function* (hash: string, token: string) {
        const key = yield* keys.resolve(token)
        if (key === undefined) return undefined
        const found = yield* tenants.find(key.tenant)
        if (found === undefined) return undefined
        const t = found.value
        if (t.spec.suspended || t.deletionRequestedAt !== undefined) return undefined
        return { tenant: t.name, owner: t.spec.owner, budget: t.spec.budget, hash } satisfies TenantIdentity & { hash: string }
      })

      // A decision per connection would take the audit chain's one lock per connection; gathered,
      // it is taken once per batch, and the caller still waits for its own event to be stored.
      const appendBatched = makeBatcher((drafts: ReadonlyArray<AuditDraft>) =>
        Effect.runPromiseExitWith(context)(store.appendAuditMany(drafts))
      )

      return TenantGate.of({
        authenticate: Effect.fnUntraced(function* (token: string) {
          const v = yield* current
          // Keyed by hash: the cache holds no usable key.
          const hash = hashKey(token)
          if (v.identities.has(hash)) return v.identities.get(hash)
          const identity = yield* lookup(hash, token)
          if (v.identities.size >= MAX_CACHED_IDENTITIES) v.identities.clear()
          v.identities.set(hash, identity)
          return identity
        }),
        allowsEgress: Effect.fnUntraced(function* (identity: TenantIdentity, host: string) {
          const v = yield* current
          // The catalog must offer a pattern covering the host, and the owner's grants allow it.
          if (!coveringNames("egress", host).some((n) => v.egress.has(n))) return false
          return v.index.check(identity.owner, "egress", host, yield* Clock.currentTimeMillis).allowed
        }),
        grantedModel: Effect.fnUntraced(function* (identity: TenantIdentity, name: string) {
          const v = yield* current
          const model = v.models.get(name)
          if (model === undefined) return undefined
          return v.index.check(identity.owner, "model", name, yield* Clock.currentTimeMillis).allowed ? model : undefined
        }),
        grantedTool: Effect.fnUntraced(function* (identity: TenantIdentity, name: string) {
          const v = yield* current
          const tool = v.tools.get(name)
          if (tool === undefined) return undefined
          return v.index.check(identity.owner, "tool", name, yield* Clock.currentTimeMillis).allowed ? tool : undefined
        }),
        grantedKnowledge: Effect.fnUntraced(function* (identity: TenantIdentity, name: string) {
          const v = yield* current
          if (!v.knowledge.has(name)) return false
          return v.index.check(identity.owner, "knowledge", name, yield* Clock.currentTimeMillis).allowed
        }),
        grantedModels: Effect.fnUntraced(function* (identity: TenantIdentity) {
          const v = yield* current
          const now = yield* Clock.currentTimeMillis
          return [...v.models.values()]
            .filter((m) => v.index.check(identity.owner, "model", m.name, now).allowed)
            .sort((a, b) => (a.name < b.name ? -1 : 1))
        }),
        audit: (draft) => Effect.asVoid(Effect.flatten(Effect.promise(() => appendBatched(draft))))
      })
    })
  )
}
