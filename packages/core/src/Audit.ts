import { Context, DateTime, Effect, Layer } from "effect"
import { AuditEvent } from "./domain/AuditEvent.ts"
import type { StoreError } from "./Errors.ts"
import { GENESIS_HASH, hashAuditEvent } from "./internal/auditHash.ts"
import { type AuditTarget, RecordStore, type StoredAudit } from "./store/RecordStore.ts"

export type AuditVerification =
  | { readonly ok: true; readonly events: number; readonly headHash: string }
  | { readonly ok: false; readonly events: number; readonly brokenAt: number; readonly reason: string }

/** One page of a target's history; `next` is the `afterSeq` of the following page, when there is one. */
export interface AuditPage {
  readonly events: ReadonlyArray<AuditEvent>
  readonly next?: number
}

const pageSize = (limit: number | undefined) => Math.min(Math.max(1, limit ?? 100), 1000)

const toEvent = (e: StoredAudit) => new AuditEvent({ ...e, at: DateTime.makeUnsafe(e.at) as DateTime.Utc })

/** Reads the audit log and proves it was not rewritten. Appending happens inside each write. */
export class Audit extends Context.Service<
  Audit,
  {
    readonly list: (options?: {
      readonly afterSeq?: number
      readonly limit?: number
    }) => Effect.Effect<ReadonlyArray<AuditEvent>, StoreError>
    /** The events about exactly `target`, oldest first, from an index rather than a scan of the log. */
    readonly byTarget: (
      target: AuditTarget,
      options?: { readonly afterSeq?: number; readonly limit?: number }
    ) => Effect.Effect<AuditPage, StoreError>
    /** Recomputes every hash from the first event on; names the first event that does not fit. */
    readonly verifyAuditChain: Effect.Effect<AuditVerification, StoreError>
  }
>()("@clawfleet/core/Audit") {
  static readonly layer = Layer.effect(
    Audit,
    Effect.gen(function* () {
      const store = yield* RecordStore
      return Audit.of({
        list: (options) => Effect.map(store.listAudit(options?.afterSeq ?? 0, pageSize(options?.limit)), (events) => events.map(toEvent)),
        byTarget: Effect.fn("Audit.byTarget")(function* (target, options) {
          const limit = pageSize(options?.limit)
          // One more than asked says whether another page follows, without an empty last page.
          const found = yield* store.listAuditByTarget(target, options?.afterSeq ?? 0, limit + 1)
          const events = found.slice(0, limit).map(toEvent)
          return found.length > limit ? { events, next: events[limit - 1]!.seq } : { events }
        }),
        verifyAuditChain: Effect.gen(function* () {
          // Read the head first: events appended while we walk lie beyond it and are not judged.
          const expected = yield* store.auditHead
          let prev = GENESIS_HASH
          let seq = 0
          while (seq < expected.seq) {
            const batch = yield* store.listAudit(seq, Math.min(1000, expected.seq - seq))
            if (batch.length === 0) {
              return {
                ok: false,
                events: seq,
                brokenAt: seq + 1,
                reason: `the log ends at event ${seq} but its head records ${expected.seq}: events were removed`
              } as const
            }
            for (const e of batch) {
              const { prevHash, hash, ...body } = e
              const broken = (reason: string) => ({ ok: false, events: seq, brokenAt: e.seq, reason }) as const
              if (e.seq !== seq + 1) return broken(`expected event ${seq + 1}, found ${e.seq}: an event is missing`)
              if (prevHash !== prev) return broken("its previous-hash does not match the event before it")
              if (hashAuditEvent(body, prevHash) !== hash) return broken("its content does not match its hash")
              prev = hash
              seq = e.seq
            }
          }
          if (prev !== expected.hash) {
            return { ok: false, events: seq, brokenAt: seq, reason: "the last event's hash does not match the recorded head" } as const
          }
          return { ok: true, events: seq, headHash: prev } as const
        })
      })
    })
  )
}
