import { randomUUID } from "node:crypto"
import type { DnsLabel, TenantName } from "@clawfleet/core"
import { phaseOf, phases } from "@clawfleet/core/fleet-file"
import { Console, Effect, Ref, Schedule } from "effect"
import type { ClawfleetClient } from "../api/client.ts"
import { type Change, type Plan, renderChange } from "./Plan.ts"
import { describe, isTransient, type Remote } from "./Remote.ts"

interface Operation {
  /** How many plan lines this call carries out (onboarding creates the person and their tenant). */
  readonly weight: number
  readonly label: string
  readonly run: Effect.Effect<void, unknown>
}

const operationOf = (client: ClawfleetClient, runId: string, c: Change): Operation | undefined => {
  const key = `clawfleet-apply-${runId}-${c.kind}-${c.id}`
  const tenantName = c.id as TenantName
  const personId = c.id as DnsLabel
  const label = renderChange(c)
  switch (c.action) {
    case "create":
      switch (c.kind) {
        case "department":
          return { weight: 1, label, run: client.departments.create({ headers: { "idempotency-key": key }, payload: c.department }) }
        case "team":
          return { weight: 1, label, run: client.teams.create({ headers: { "idempotency-key": key }, payload: c.team }) }
        case "person":
          return {
            weight: c.tenant === undefined ? 1 : 2,
            label,
            run: client.people.create({
              headers: { "idempotency-key": key },
              payload: {
                person: c.person,
                tenant: c.tenant === undefined ? false : { name: c.tenant.name as TenantName, ...c.tenant.settings }
              }
            })
          }
        case "tenant":
          return c.withOwner
            ? undefined
            : {
                weight: 1,
                label,
                run: client.tenants.create({
                  headers: { "idempotency-key": key },
                  payload: { name: tenantName, spec: { owner: c.owner as DnsLabel, ...c.settings } }
                })
              }
        case "grant":
          return { weight: 1, label, run: client.grants.create({ headers: { "idempotency-key": key }, payload: c.grant }) }
      }
      break
    case "update":
      // Read for the ETag, then change with If-Match: a concurrent change makes this one fail (412) and retry.
      return c.kind === "person"
        ? {
            weight: 1,
            label,
            run: Effect.flatMap(client.people.get({ params: { id: personId } }), (read) =>
              client.people.update({ params: { id: personId }, headers: { "if-match": read.headers.etag }, payload: c.patch })
            )
          }
        : {
            weight: 1,
            label,
            run: Effect.flatMap(client.tenants.get({ params: { name: tenantName } }), (read) =>
              client.tenants.update({ params: { name: tenantName }, headers: { "if-match": read.headers.etag }, payload: c.patch })
            )
          }
    case "delete":
      switch (c.kind) {
        case "grant":
          return { weight: 1, label, run: client.grants.delete({ params: { id: c.grantId } }) }
        case "tenant":
          return { weight: 1, label, run: client.tenants.delete({ params: { name: tenantName } }) }
        case "person":
          return { weight: 1, label, run: client.people.offboard({ params: { id: personId } }) }
      }
  }
}

const retryable = (e: unknown) => isTransient(e) || (typeof e === "object" && e !== null && "_tag" in e && e._tag === "PreconditionFailed")

export interface ApplyResult {
  readonly applied: number
  readonly failed: ReadonlyArray<string>
}

/**
 * Carries out a plan through the API, `concurrency` calls at a time within each phase, with a
 * progress line on stderr. Creates send an `Idempotency-Key` (unique to this run, the same on
 * its retries); updates send `If-Match`. Transient failures are retried; the rest are collected
 * and reported, and the changes that did not depend on them still go through.
 */
export const applyPlan = (
  remote: Remote,
  plan: Plan,
  options: { readonly concurrency: number; readonly progress: (done: number, total: number) => Effect.Effect<void> }
): Effect.Effect<ApplyResult> =>
  Effect.gen(function* () {
    const runId = randomUUID()
    const total = plan.changes.length
    const done = yield* Ref.make(0)
    const failed: Array<string> = []
    for (const phase of phases) {
      const operations = plan.changes
        .filter((c) => phaseOf(c) === phase)
        .map((c) => operationOf(remote.client, runId, c))
        .filter((o): o is Operation => o !== undefined)
      yield* Effect.forEach(
        operations,
        (op) =>
          op.run.pipe(
            Effect.retry({ times: 4, schedule: Schedule.exponential("100 millis"), while: retryable }),
            Effect.matchEffect({
              onFailure: (e) => Effect.sync(() => failed.push(`${op.label}: ${describe(remote.server, e)}`)),
              onSuccess: () => Ref.updateAndGet(done, (n) => n + op.weight).pipe(Effect.flatMap((n) => options.progress(n, total)))
            })
          ),
        { concurrency: options.concurrency, discard: true }
      )
    }
    return { applied: yield* Ref.get(done), failed }
  })

/** Progress on stderr: rewritten in place on a terminal, every tenth otherwise. */
export const progressLine = (done: number, total: number): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (process.stderr.isTTY) {
      return Effect.sync(() => process.stderr.write(`\rapplying: ${done}/${total} changes${done === total ? "\n" : ""}`))
    }
    const step = Math.max(1, Math.ceil(total / 10))
    return done === total || done % step === 0 ? Console.error(`applying: ${done}/${total} changes`) : Effect.void
  })
