import { Clock, Context, DateTime, Effect, Layer, Schema } from "effect"
import { Catalog } from "../Catalog.ts"
import { Directory } from "../Directory.ts"
import { Grant, GrantEffect, Resource, type ResourceKind, Subject } from "../domain/Grant.ts"
import { Text } from "../domain/Names.ts"
import type { Tenant } from "../domain/Tenant.ts"
import { type StoreError, ValidationError } from "../Errors.ts"
import { RequestContext } from "../RequestContext.ts"
import { RecordStore } from "../store/RecordStore.ts"
import { makeRepository, type Page, type PageRequest, type Repository } from "../store/Repository.ts"
import { makeRevisionCache } from "../store/revisionCache.ts"
import { Tenants } from "../Tenants.ts"
import { AccessIndex, type Decision, type Explanation } from "./AccessIndex.ts"

/** What a caller gives to create a grant; id, actor and time are filled in. */
export const GrantInput = Schema.Struct({
  subject: Subject,
  resource: Resource,
  effect: GrantEffect,
  expiresAt: Schema.optionalKey(Schema.DateTimeUtcFromString),
  reason: Schema.optionalKey(Text(1000))
})
export type GrantInput = typeof GrantInput.Encoded

/** Resource names a tenant may use, per kind: only what is in the catalog and allowed. */
export interface EffectiveAccess {
  readonly tenant: string
  readonly owner: string
  readonly skills: ReadonlyArray<string>
  readonly tools: ReadonlyArray<string>
  readonly knowledge: ReadonlyArray<string>
  /** Allowed egress patterns, each with the hosts or narrower patterns denied beneath it. */
  readonly egress: ReadonlyArray<{ readonly pattern: string; readonly except: ReadonlyArray<string> }>
  readonly models: ReadonlyArray<string>
}

const accessTables = ["people", "teams", "departments", "grants"] as const

const invalid = (path: string, message: string) => new ValidationError({ subject: "grant", issues: [{ path, message }] })

/**
 * The grant engine: deny by default, an explicit deny beats any allow at any level, expired
 * grants count as absent. Decisions come from an in-memory `AccessIndex` that is rebuilt when the
 * store's revision of people, teams or grants moves, so a revoke is seen by the next check.
 */
export class Grants extends Context.Service<
  Grants,
  {
    readonly grant: (input: GrantInput) => Effect.Effect<Grant, StoreError | ValidationError>
    readonly revoke: (id: string) => Effect.Effect<void, StoreError>
    readonly list: (
      request?: PageRequest & { readonly subject?: Subject | undefined }
    ) => Effect.Effect<Page<Grant>, StoreError | ValidationError>
    readonly check: (personId: string, resource: Resource) => Effect.Effect<Decision, StoreError>
    readonly explain: (subject: Subject, resource: Resource) => Effect.Effect<Explanation, StoreError>
    readonly effectiveAccess: (tenant: string) => Effect.Effect<EffectiveAccess, StoreError>
    /** The same, for a tenant already read (the reconciler has it in hand). */
    readonly accessOf: (tenant: Tenant) => Effect.Effect<EffectiveAccess, StoreError>
    /** The current index, for callers that make many decisions at once (proxies, brokers). */
    readonly snapshot: Effect.Effect<AccessIndex, StoreError>
  }
>()("@clawfleet/core/Grants") {
  static readonly layer = Layer.effect(
    Grants,
    Effect.gen(function* () {
      const store = yield* RecordStore
      const directory = yield* Directory
      const catalog = yield* Catalog
      const tenants = yield* Tenants
      const repo: Repository<Grant, "grants"> = yield* makeRepository("grants", Grant, (g) => g.id)
      // The index and the catalog names are rebuilt only when their tables change: a check, or
      // compiling access for 10,000 tenants, must not read them every time.
      const snapshot = yield* makeRevisionCache(
        store,
        accessTables,
        Effect.gen(function* () {
          const [people, teams, departments, grants] = yield* Effect.all([
            directory.people.all,
            directory.teams.all,
            directory.departments.all,
            repo.all
          ])
          return AccessIndex.build({
            people: people.map((p) => p.value),
            teams: teams.map((t) => t.value),
            departments: departments.map((d) => d.value),
            grants: grants.map((g) => g.value)
          })
        })
      )
      const names = (xs: ReadonlyArray<{ readonly value: { readonly name: string } }>) => xs.map((x) => x.value.name)
      const catalogNames = Effect.map(
        Effect.all([
          Effect.map(catalog.skills.all, names),
          Effect.map(catalog.tools.all, names),
          Effect.map(catalog.knowledgeBases.all, names),
          Effect.map(catalog.egressDomains.all, names),
          Effect.map(catalog.models.all, names)
        ]),
        ([skill, tool, knowledge, egress, model]): Record<ResourceKind, ReadonlyArray<string>> => ({
          skill,
          tool,
          knowledge,
          egress,
          model
        })
      )
      // What compiling access reads, behind one revision check: it runs on every reconcile pass.
      const accessInputs = yield* makeRevisionCache(
        store,
        [...accessTables, "skills", "tools", "knowledge_bases", "egress_domains", "models"],
        Effect.all({ index: snapshot, catalogNow: catalogNames })
      )

      const accessOf = Effect.fnUntraced(function* (tenantName: string, owner: string) {
        const { index, catalogNow } = yield* accessInputs
        const now = yield* Clock.currentTimeMillis
        const allowed = (kind: ResourceKind) => catalogNow[kind].filter((n) => index.check(owner, kind, n, now).allowed).sort()
        // An allowed `*.example.com` may still have denied hosts beneath it: they travel with it, so an
        // allow-list compiled from this never lets a denied host through.
        const denied = index.activeDenies(owner, "egress", now)
        const egress = allowed("egress").map((pattern) => ({
          pattern,
          except: pattern.startsWith("*.") ? denied.filter((d) => d !== pattern && d.endsWith(pattern.slice(1))).sort() : []
        }))
        return {
          tenant: tenantName,
          owner,
          skills: allowed("skill"),
          tools: allowed("tool"),
          knowledge: allowed("knowledge"),
          egress,
          models: allowed("model")
        } satisfies EffectiveAccess
      })

      return Grants.of({
        grant: Effect.fn("Grants.grant")(function* (input: GrantInput) {
          // Unknown fields are refused: a misspelt `expiresAt` must not become a grant that never ends.
          const decoded = yield* Schema.decodeUnknownEffect(GrantInput)(input, { errors: "all", onExcessProperty: "error" }).pipe(
            Effect.mapError((e) => ValidationError.fromSchemaError("grant", e))
          )
          const now = yield* Clock.currentTimeMillis
          if (decoded.expiresAt !== undefined && decoded.expiresAt.epochMilliseconds <= now) {
            return yield* invalid("expiresAt", "must lie in the future")
          }
          // A grant to nobody would do nothing; a deny on a misspelt team would do nothing silently.
          const subject = decoded.subject
          if (subject.kind !== "org") {
            const found =
              subject.kind === "person"
                ? yield* directory.people.find(subject.id)
                : subject.kind === "team"
                  ? yield* directory.teams.find(subject.id)
                  : yield* directory.departments.find(subject.id)
            if (found === undefined) return yield* invalid("subject.id", `${subject.kind} "${subject.id}" does not exist`)
          }
          const ctx = yield* RequestContext
          const grant = new Grant({
            ...decoded,
            id: crypto.randomUUID(),
            actor: ctx.actor,
            createdAt: DateTime.makeUnsafe(now) as DateTime.Utc
          })
          yield* repo.create(grant, { action: "grant.create" })
          return grant
        }),
        revoke: Effect.fn("Grants.revoke")(function* (id: string) {
          const current = yield* repo.get(id)
          yield* repo.remove(id, current.version)
        }),
        list: (request = {}) => {
          const { subject, ...page } = request
          if (subject === undefined) return repo.list(page)
          return repo.list({
            ...page,
            where: subject.kind === "org" ? { "subject.kind": "org" } : { "subject.kind": subject.kind, "subject.id": subject.id }
          })
        },
        check: Effect.fn("Grants.check")(function* (personId: string, resource: Resource) {
          const index = yield* snapshot
          return index.check(personId, resource.kind, resource.name, yield* Clock.currentTimeMillis)
        }),
        explain: Effect.fn("Grants.explain")(function* (subject: Subject, resource: Resource) {
          const index = yield* snapshot
          return index.explain(subject, resource, yield* Clock.currentTimeMillis)
        }),
        effectiveAccess: Effect.fn("Grants.effectiveAccess")(function* (tenantName: string) {
          const tenant = yield* tenants.get(tenantName)
          return yield* accessOf(tenantName, tenant.value.spec.owner)
        }),
        accessOf: (tenant) => accessOf(tenant.name, tenant.spec.owner),
        snapshot
      })
    })
  )
}
