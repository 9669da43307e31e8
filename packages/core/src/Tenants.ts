import { Context, type DateTime, Effect, Layer } from "effect"
import { Tenant, TenantStatus } from "./domain/Tenant.ts"
import type { StoreError } from "./Errors.ts"
import { tenantJson } from "./internal/tenantJson.ts"
import { makeRepository, type Repository, type Versioned } from "./store/Repository.ts"

/** Tenant records. Spec and status are written separately, as a Kubernetes object's are. */
export class Tenants extends Context.Service<
  Tenants,
  Repository<Tenant, "tenants"> & {
    readonly byOwner: (owner: string) => Effect.Effect<ReadonlyArray<Versioned<Tenant>>, StoreError>
    /**
     * Writes status only: the generation stays, and the audit log is spared the reconciler's
     * heartbeat. Fails with Conflict when the record moved on since `expectedVersion`.
     */
    readonly writeStatus: (
      name: string,
      expectedVersion: number,
      status: TenantStatus,
      /** The tenant as read at `expectedVersion`, to spare a read. */
      current?: Tenant
    ) => Effect.Effect<Versioned<Tenant>, StoreError>
    /**
     * Records that the assistant was used at `at` (reported by the tenant agent), for idle
     * suspend. Never moves lastActivity backwards; retries on conflicts with other writers.
     */
    readonly reportActivity: (name: string, at: DateTime.Utc) => Effect.Effect<void, StoreError>
  }
>()("@clawfleet/core/Tenants") {
  static readonly layer = Layer.effect(
    Tenants,
    Effect.gen(function* () {
      const repo = yield* makeRepository("tenants", Tenant, (t) => t.name, { encode: tenantJson })
      return Tenants.of({
        ...repo,
        byOwner: (owner) => repo.allWhere({ "spec.owner": owner }),
        reportActivity: Effect.fn("Tenants.reportActivity")(function* (name, at) {
          yield* repo.modify(
            name,
            (t) =>
              t.status.lastActivity !== undefined && t.status.lastActivity.epochMilliseconds >= at.epochMilliseconds
                ? t
                : new Tenant({ ...t, status: new TenantStatus({ ...t.status, lastActivity: at }) }),
            { audit: false }
          )
        }),
        // Untraced: every reconcile pass of every tenant writes status, and a traced call captures
        // a stack each time; the reconciler's events carry what a span would.
        writeStatus: Effect.fnUntraced(function* (name: string, expectedVersion: number, status: TenantStatus, current?: Tenant) {
          const base = current ?? (yield* repo.get(name)).value
          return yield* repo.update(new Tenant({ ...base, status }), expectedVersion, { audit: false })
        })
      })
    })
  )
}
