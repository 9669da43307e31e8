import { assert, type Vitest } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { Audit, type AuditPage } from "../../Audit.ts"
import { Directory } from "../../Directory.ts"
import { withActor } from "../../RequestContext.ts"
import type * as Store from "../../Store.ts"
import { RecordStore } from "../../store/RecordStore.ts"
import type { StoreConformanceOptions } from "../StoreConformance.ts"
import { dept } from "./support.ts"

/** The audit chain: batches of events, and what each write records. */
export const auditScenarios = (it: Vitest.MethodsNonLive<Store.Services>) => {
  it.effect("appends many events in order in one step, or none", () =>
    Effect.gen(function* () {
      const store = yield* RecordStore
      const audit = yield* Audit
      const start = (yield* audit.verifyAuditChain).events
      const drafts = Array.from({ length: 25 }, (_, i) => ({
        actor: "tenant:ada",
        action: i % 2 === 0 ? "egress.allow" : "egress.deny",
        target: { kind: "egress", id: `host-${i}.example.com:443` },
        decision: i % 2 === 0 ? "allowed" : "not-granted"
      }))
      const appended = yield* store.appendAuditMany(drafts)
      assert.deepStrictEqual(
        appended.map((e) => e.seq),
        drafts.map((_, i) => start + i + 1)
      )
      for (let i = 1; i < appended.length; i++) assert.strictEqual(appended[i]!.prevHash, appended[i - 1]!.hash)
      assert.deepStrictEqual(yield* store.appendAuditMany([]), [])
      const listed = yield* audit.list({ afterSeq: start, limit: 100 })
      assert.deepStrictEqual(
        listed.map((e) => [e.action, e.target.id, e.decision]),
        drafts.map((d) => [d.action, d.target.id, d.decision])
      )
      // Concurrent batches and single appends interleave as whole batches, and the chain holds.
      yield* Effect.all(
        [
          store.appendAuditMany(drafts.slice(0, 10)),
          store.appendAudit(drafts[0]!),
          store.appendAuditMany(drafts.slice(10)),
          store.appendAuditMany(drafts.slice(5, 15))
        ],
        { concurrency: "unbounded" }
      )
      const chain = yield* audit.verifyAuditChain
      assert.isTrue(chain.ok)
      assert.strictEqual(chain.events, start + 25 + 10 + 1 + 15 + 10)
      const inTx = yield* Effect.exit(
        store.transaction(Effect.andThen(store.appendAuditMany(drafts.slice(0, 3)), Effect.fail("rolled back")))
      )
      assert.isTrue(Exit.isFailure(inTx))
      assert.strictEqual((yield* audit.verifyAuditChain).events, chain.events, "a batch in a failed transaction leaves nothing")
    })
  )

  it.effect("audits each write with actor, before and after, in one verifiable chain", () =>
    Effect.gen(function* () {
      const { departments } = yield* Directory
      const audit = yield* Audit
      const start = (yield* audit.verifyAuditChain).events
      yield* departments.create(dept("audited", "One")).pipe(withActor("ada@example.com", "req-1"))
      yield* departments.update(dept("audited", "Two"), 1).pipe(withActor("grace@example.com"))
      const events = yield* audit.list({ afterSeq: start })
      const mine = events.filter((e) => e.target.id === "audited")
      assert.deepStrictEqual(
        mine.map((e) => [e.action, e.actor]),
        [
          ["departments.create", "ada@example.com"],
          ["departments.update", "grace@example.com"]
        ]
      )
      assert.strictEqual(mine[0]?.requestId, "req-1")
      assert.deepStrictEqual(mine[1]?.before, { id: "audited", displayName: "One" })
      assert.deepStrictEqual(mine[1]?.after, { id: "audited", displayName: "Two" })
      assert.strictEqual(mine[1]?.prevHash, mine[0]?.hash)
      const chain = yield* audit.verifyAuditChain
      assert.isTrue(chain.ok)
    })
  )

  it.effect("finds a target's events by index: exactly those a scan of the whole log filters out", () =>
    Effect.gen(function* () {
      const store = yield* RecordStore
      const audit = yield* Audit
      const start = (yield* audit.verifyAuditChain).events
      const tenant = "by-target-ada"
      // Neighbours a sloppy match would catch: other kinds with the same id, other ids of the same
      // kind (a prefix, another case), and the tenant's own events between them.
      const targets = [
        { kind: "tenant", id: tenant },
        { kind: "tenant-credentials", id: tenant },
        { kind: "tenant", id: `${tenant}-2` },
        { kind: "tenants", id: tenant },
        { kind: "tenant", id: tenant.toUpperCase() },
        { kind: "person", id: tenant },
        { kind: "tenant", id: `${tenant} ` }
      ]
      const drafts = Array.from({ length: 60 }, (_, i) => ({
        actor: "reconciler",
        action: `step-${i}`,
        target: targets[(i * 5) % targets.length]!
      }))
      yield* store.appendAuditMany(drafts.slice(0, 30))
      // Rolled back: its event must leave no trace in the index either.
      yield* Effect.exit(store.transaction(Effect.andThen(store.appendAudit(drafts[0]!), Effect.fail("rolled back"))))
      for (const draft of drafts.slice(30)) yield* store.appendAudit(draft)

      const scanned = (yield* audit.list({ afterSeq: start, limit: 1000 })).filter(
        (e) => e.target.kind === "tenant" && e.target.id === tenant
      )
      assert.strictEqual(scanned.length, drafts.filter((d) => d.target === targets[0]).length)

      const first = yield* audit.byTarget({ kind: "tenant", id: tenant })
      assert.deepStrictEqual(first.events, scanned)
      assert.isUndefined(first.next)

      // Page by page, from any point, the same events in the same order.
      const walked: Array<number> = []
      let after: number | undefined = 0
      while (after !== undefined) {
        const page: AuditPage = yield* audit.byTarget({ kind: "tenant", id: tenant }, { afterSeq: after, limit: 3 })
        assert.isAtMost(page.events.length, 3)
        walked.push(...page.events.map((e) => e.seq))
        after = page.next
      }
      assert.deepStrictEqual(
        walked,
        scanned.map((e) => e.seq)
      )
      const middle = scanned[4]!.seq
      const rest = yield* audit.byTarget({ kind: "tenant", id: tenant }, { afterSeq: middle })
      assert.deepStrictEqual(rest.events, scanned.slice(5))
      assert.deepStrictEqual((yield* audit.byTarget({ kind: "tenant", id: "by-target-nobody" })).events, [])
    })
  )
}

/** Tampering with the audit log behind the store's back is detected; these break the chain. */
export const tamperScenarios = <R>(it: Vitest.MethodsNonLive<Store.Services | R>, options: Pick<StoreConformanceOptions<R>, "tamper">) => {
  // Truncation first, while the chain is otherwise whole, so its verdict can only come from the
  // missing event.
  if ("skip" in options.tamper) {
    it.skip(`detects a tampered or truncated audit log (skipped: ${options.tamper.skip})`, () => Effect.void)
  } else {
    const tamper = options.tamper
    it.effect("verification fails when the newest events are removed", () =>
      Effect.gen(function* () {
        const { departments } = yield* Directory
        const audit = yield* Audit
        yield* departments.create(dept("truncate-target"))
        assert.isTrue((yield* audit.verifyAuditChain).ok)
        yield* Effect.orDie(tamper.dropNewest)
        const result = yield* audit.verifyAuditChain
        assert.isFalse(result.ok)
        if (!result.ok) assert.match(result.reason, /removed/)
      })
    )

    // Rewrites the very first event, so the verdict must name it whatever came later.
    it.effect("verification fails at the first tampered audit event", () =>
      Effect.gen(function* () {
        const audit = yield* Audit
        const [first] = yield* audit.list({ afterSeq: 0, limit: 1 })
        assert.strictEqual(first?.seq, 1)
        yield* Effect.orDie(tamper.rewrite(1))
        const result = yield* audit.verifyAuditChain
        assert.isFalse(result.ok)
        if (!result.ok) {
          assert.strictEqual(result.brokenAt, 1)
          assert.match(result.reason, /hash/)
        }
      })
    )
  }
}
