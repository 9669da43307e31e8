import {
  Audit,
  Directory,
  Fleet,
  type PairingError,
  PairingLinks,
  RecordStore,
  RuntimeCompiler,
  RuntimeProvider,
  Tenant,
  Tenants
} from "@clawfleet/core"
import { Effect, Option, Redacted } from "effect"
import { HttpApiBuilder, HttpApiSchema } from "effect/http-api"
import { Access } from "../Access.ts"
import { ClawfleetApi } from "../Api.ts"
import { checkIfMatch, etagOf, requireIfMatch } from "../ETag.ts"
import { Idempotency } from "../Idempotency.ts"
import { DEFAULT_LIMIT, memoryPage, storePage, values } from "../Paging.ts"
import { Conflict, Forbidden, NotFound, orPreconditionProblem, orProblem, unavailableFor } from "../Problems.ts"
import { CurrentCaller } from "../Security.ts"

/** How long a pairing request waits for a suspended or starting tenant before it answers 503. */
export const PAIRING_WAIT_MS = 5_000
/** The `Retry-After` of that 503, as the identity routes answer it. */
const PAIRING_RETRY_AFTER_SECONDS = 5

const pairingProblem = (error: PairingError) => {
  switch (error.reason) {
    case "Forbidden":
    case "Disabled":
      return new Forbidden({ detail: error.detail })
    case "NotReady":
      return unavailableFor(`${error.detail}; it is starting, ask again shortly`, PAIRING_RETRY_AFTER_SECONDS)
    case "NoEndpoint":
    case "Deleting":
      return new Conflict({ detail: error.detail })
  }
}

export const TenantsHandlers = HttpApiBuilder.group(
  ClawfleetApi,
  "tenants",
  Effect.fn(function* (handlers) {
    const fleet = yield* Fleet
    const directory = yield* Directory
    const tenants = yield* Tenants
    const store = yield* RecordStore
    const access = yield* Access
    const idempotency = yield* Idempotency
    // Optional, as metering is: an embedding without pairing links still serves the rest.
    const links = Option.getOrUndefined(yield* Effect.serviceOption(PairingLinks))
    // A server without a runtime (an API in front of another process's reconciler) cannot plan.
    const provider = Option.getOrUndefined(yield* Effect.serviceOption(RuntimeProvider))
    const compiler = Option.getOrUndefined(yield* Effect.serviceOption(RuntimeCompiler))
    const audit = yield* Audit

    const withETag = (name: string) =>
      Effect.map(tenants.get(name), (v) => HttpApiSchema.withHeaders({ body: v.value, headers: { etag: etagOf(v.version) } }))

    // Reads back in the same transaction, so the ETag is the version this change wrote.
    const thenETag = <A, E, R>(name: string, change: Effect.Effect<A, E, R>) => store.transaction(Effect.andThen(change, withETag(name)))

    return handlers.handleAll({
      list: ({ query }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          const teams = access.visibleTeams(caller)
          if (teams === undefined || query.owner !== undefined) {
            if (query.owner !== undefined) yield* access.owner(caller, query.owner)
            return values(yield* storePage(store, "tenants", Tenant, query, query.owner === undefined ? [] : [["spec.owner", query.owner]]))
          }
          // A team administrator's tenants: those of the people in their teams.
          const people = (yield* Effect.forEach(teams, (team) => directory.people.allWhere({ team }))).flat()
          const owned = yield* Effect.forEach(people, (p) => tenants.byOwner(p.value.id))
          return values(memoryPage(owned.flat(), (v) => v.value.name, query))
        }).pipe(orProblem),

      get: ({ params }) =>
        Effect.gen(function* () {
          yield* access.tenant(yield* CurrentCaller, params.name, "read")
          return yield* withETag(params.name)
        }).pipe(orProblem),

      create: ({ payload, headers }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          yield* access.owner(caller, payload.spec.owner)
          return yield* idempotency.run(
            { caller: caller.person.id, operation: "tenants.create", key: headers["idempotency-key"], body: payload },
            thenETag(payload.name, fleet.createTenant(payload))
          )
        }).pipe(orProblem),

      update: ({ params, headers, payload }) =>
        Effect.gen(function* () {
          yield* access.tenant(yield* CurrentCaller, params.name, "manage")
          const ifMatch = yield* requireIfMatch(headers["if-match"])
          return yield* store.transaction(
            Effect.gen(function* () {
              const current = yield* tenants.get(params.name)
              yield* checkIfMatch(ifMatch, current.version)
              yield* fleet.updateTenant(params.name, payload, { expectedGeneration: current.value.generation })
              return yield* withETag(params.name)
            })
          )
        }).pipe(orPreconditionProblem),

      suspend: ({ params }) =>
        Effect.gen(function* () {
          yield* access.tenant(yield* CurrentCaller, params.name, "operate")
          return yield* thenETag(params.name, fleet.suspendTenant(params.name))
        }).pipe(orProblem),

      resume: ({ params }) =>
        Effect.gen(function* () {
          yield* access.tenant(yield* CurrentCaller, params.name, "operate")
          return yield* thenETag(params.name, fleet.resumeTenant(params.name))
        }).pipe(orProblem),

      delete: ({ params }) =>
        Effect.gen(function* () {
          yield* access.tenant(yield* CurrentCaller, params.name, "manage")
          return yield* fleet.deleteTenant(params.name)
        }).pipe(orProblem),

      pairing: ({ params }) =>
        Effect.gen(function* () {
          if (links === undefined) return yield* new NotFound({ detail: "this server makes no pairing links" })
          const caller = yield* CurrentCaller
          // The owner, their team administrator or an org administrator. Past this check a team
          // administrator acts as an administrator for `PairingLinks`, which otherwise admits only
          // the owner; the link is bound to whoever asked, so the audit names them.
          yield* access.tenant(caller, params.name, "operate")
          const link = yield* links
            .create({
              tenant: params.name,
              requester: { person: caller.person.id, admin: caller.role.name !== "member" },
              waitMs: PAIRING_WAIT_MS
            })
            .pipe(Effect.catchTag("PairingError", (e) => Effect.fail(pairingProblem(e))))
          return { url: Redacted.value(link.url), expiresAt: new Date(link.expiresAt).toISOString() }
        }).pipe(orProblem),

      events: ({ params, query }) =>
        Effect.gen(function* () {
          yield* access.tenant(yield* CurrentCaller, params.name, "read")
          yield* tenants.get(params.name)
          const page = yield* audit.byTarget(
            { kind: "tenant", id: params.name },
            { afterSeq: query.after ?? 0, limit: query.limit ?? DEFAULT_LIMIT }
          )
          return page.next === undefined ? { items: page.events } : { items: page.events, next: String(page.next) }
        }).pipe(orProblem),

      plan: ({ params }) =>
        Effect.gen(function* () {
          if (provider === undefined || compiler === undefined) {
            return yield* new NotFound({ detail: "this server runs no runtime provider to plan with" })
          }
          yield* access.tenant(yield* CurrentCaller, params.name, "read")
          const tenant = (yield* tenants.get(params.name)).value
          const runtime = yield* compiler
            .compile(tenant)
            .pipe(Effect.catchTag("CompileError", (e) => Effect.fail(new Conflict({ detail: e.message }))))
          const plan = yield* provider
            .plan(runtime)
            .pipe(Effect.catchTag("ProviderError", (e) => Effect.fail(unavailableFor(`the runtime provider: ${e.message}`, 5))))
          return {
            tenant: plan.tenant,
            generation: plan.generation,
            changes: plan.changes.map((c) => ({ action: c.action, kind: c.kind, name: c.name, diff: [...c.diff] }))
          }
        }).pipe(orProblem)
    })
  })
)
