import { Fleet, RecordStore, TenantStatus, Tenants } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeFixture, reportReady } from "./support.ts"

const pair = (tenant: string) => `/api/v1/tenants/${tenant}/pairing`
const events = (tenant: string, query = "") => `/api/v1/tenants/${tenant}/events${query}`

describe("tenant pairing links", () => {
  it.live("the owner, their team administrator and org administrators get a single-use link to the tenant's endpoint", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture({ ready: true })
      for (const who of ["mia", "tam", "root", "olga"] as const) {
        const r = yield* f.request("POST", pair("mia"), { as: who })
        assert.strictEqual(r.status, 200, `${who}: ${JSON.stringify(r.json)}`)
        assert.match(r.json.url, /^https:\/\/mia\.assistants\.test\/clawfleet\/pair\?token=ey/)
        assert.isAbove(Date.parse(r.json.expiresAt), Date.now())
        assert.strictEqual(new Date(r.json.expiresAt).toISOString(), r.json.expiresAt)
      }
      // Not the owner, not their team's administrator: refused, before anything is looked up.
      for (const [who, tenant] of [
        ["otto", "mia"],
        ["nemo", "mia"],
        ["tam", "otto"]
      ] as const) {
        const r = yield* f.request("POST", pair(tenant), { as: who })
        assert.strictEqual(r.status, 403, `${who} on ${tenant}`)
      }
      assert.strictEqual((yield* f.request("POST", pair("ghost"), { as: "root" })).status, 404)
      assert.strictEqual((yield* f.request("POST", pair("ghost"), { as: "mia" })).status, 403)
      // An API token needs the scope tenants:pair.
      const readOnly = yield* f.token("mia", ["tenants:read"])
      assert.strictEqual((yield* f.request("POST", pair("mia"), { token: readOnly })).status, 403)
      const pairing = yield* f.token("mia", ["tenants:pair"])
      assert.strictEqual((yield* f.request("POST", pair("mia"), { token: pairing })).status, 200)
    }).pipe(Effect.scoped)
  )

  it.live("resumes a suspended tenant first", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture({ ready: true })
      assert.strictEqual((yield* f.request("POST", "/api/v1/tenants/mia/suspend", { as: "mia" })).status, 200)
      const r = yield* f.request("POST", pair("mia"), { as: "mia" })
      assert.strictEqual(r.status, 200)
      const tenant = yield* f
        .run(
          Effect.gen(function* () {
            return yield* (yield* Tenants).get("mia")
          })
        )
        .pipe(Effect.orDie)
      assert.isFalse(tenant.value.spec.suspended)
    }).pipe(Effect.scoped)
  )

  it.live(
    "no endpoint or deleting is 409; not Ready within the wait is 503 with Retry-After",
    () =>
      Effect.gen(function* () {
        const f = yield* makeFixture({ ready: true })
        yield* f.run(reportReady("mia", null)).pipe(Effect.orDie)
        const noEndpoint = yield* f.request("POST", pair("mia"), { as: "mia" })
        assert.strictEqual(noEndpoint.status, 409)
        assert.match(noEndpoint.json.detail, /no endpoint/)

        assert.strictEqual((yield* f.request("DELETE", "/api/v1/tenants/otto", { as: "root" })).status, 202)
        const deleting = yield* f.request("POST", pair("otto"), { as: "root" })
        assert.strictEqual(deleting.status, 409)
        assert.match(deleting.json.detail, /being deleted/)

        // Starting, and nobody reconciling: the request waits a few seconds, no more.
        yield* f
          .run(
            Effect.gen(function* () {
              const tenants = yield* Tenants
              const t = yield* tenants.get("tam")
              yield* tenants.writeStatus(
                "tam",
                t.version,
                new TenantStatus({ phase: "Pending", conditions: [], observedGeneration: t.value.generation })
              )
            })
          )
          .pipe(Effect.orDie)
        const started = Date.now()
        const notReady = yield* f.request("POST", pair("tam"), { as: "tam" })
        assert.isBelow(Date.now() - started, 9_000)
        assert.strictEqual(notReady.status, 503)
        assert.strictEqual(notReady.headers.get("retry-after"), "5")
        assert.strictEqual(notReady.json.type, "urn:clawfleet:problem:unavailable")
      }).pipe(Effect.scoped),
    20_000
  )
})

describe("tenant events", () => {
  it.live("the tenant's history from the audit log, in order and paged by sequence number", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture({ ready: true })
      assert.strictEqual((yield* f.request("POST", "/api/v1/tenants/mia/suspend", { as: "mia" })).status, 200)
      assert.strictEqual((yield* f.request("POST", "/api/v1/tenants/mia/resume", { as: "mia" })).status, 200)
      const all = yield* f.request("GET", events("mia"), { as: "mia" })
      assert.strictEqual(all.status, 200)
      assert.notProperty(all.json, "next")
      const items: Array<{ seq: number; target: { kind: string; id: string }; actor: string }> = all.json.items
      assert.isAtLeast(items.length, 3)
      for (const e of items) assert.deepStrictEqual(e.target, { kind: "tenant", id: "mia" })
      const seqs = items.map((e) => e.seq)
      assert.deepStrictEqual(
        seqs,
        [...seqs].sort((a, b) => a - b)
      )
      // The last two are mia's own suspend and resume.
      assert.deepStrictEqual(
        items.slice(-2).map((e) => e.actor),
        ["person:mia", "person:mia"]
      )

      // Page by page, the same events.
      const walked: Array<number> = []
      let after: string | undefined
      for (let i = 0; i < 20; i++) {
        const page = yield* f.request("GET", events("mia", `?limit=1${after !== undefined ? `&after=${after}` : ""}`), { as: "tam" })
        assert.strictEqual(page.status, 200)
        walked.push(...page.json.items.map((e: { seq: number }) => e.seq))
        after = page.json.next
        if (after === undefined) break
      }
      assert.deepStrictEqual(walked, seqs)

      for (const [who, tenant] of [
        ["otto", "mia"],
        ["nemo", "mia"],
        ["tam", "otto"]
      ] as const) {
        assert.strictEqual((yield* f.request("GET", events(tenant), { as: who })).status, 403, `${who} on ${tenant}`)
      }
      assert.strictEqual((yield* f.request("GET", events("ghost"), { as: "root" })).status, 404)
      assert.strictEqual((yield* f.request("GET", events("mia", "?after=-1"), { as: "root" })).status, 400)
      const token = yield* f.token("mia", ["tenants:read"])
      assert.strictEqual((yield* f.request("GET", events("mia"), { token })).status, 200)
      const noScope = yield* f.token("mia", ["usage:read"])
      assert.strictEqual((yield* f.request("GET", events("mia"), { token: noScope })).status, 403)
    }).pipe(Effect.scoped)
  )

  it.live(
    "a tenant's history behind 10,000 other events is on the first page",
    () =>
      Effect.gen(function* () {
        const f = yield* makeFixture({ ready: true })
        const before = yield* f.auditLength
        // One event about mia, 10,500 about somebody else, then another about mia.
        const noise = yield* f
          .run(
            Effect.gen(function* () {
              const store = yield* RecordStore
              yield* (yield* Fleet).suspendTenant("mia")
              const seqs: Array<number> = []
              for (let i = 0; i < 21; i++) {
                const batch = yield* store.appendAuditMany(
                  Array.from({ length: 500 }, (_, j) => ({ actor: "test", action: "noise", target: { kind: "person", id: `p${i}-${j}` } }))
                )
                seqs.push(...batch.map((e) => e.seq))
              }
              yield* (yield* Fleet).resumeTenant("mia")
              return seqs
            })
          )
          .pipe(Effect.orDie)
        const first = yield* f.request("GET", events("mia", `?after=${before}`), { as: "mia" })
        assert.strictEqual(first.status, 200)
        const found: Array<{ seq: number; action: string }> = first.json.items
        assert.deepStrictEqual(
          found.map((e) => e.action),
          ["tenant.suspend", "tenant.resume"]
        )
        assert.isBelow(found[0]!.seq, noise[0]!)
        assert.isAbove(found[1]!.seq, noise[noise.length - 1]!)
        assert.notProperty(first.json, "next")
        // From the start of the log too: the old event is not pushed off the first page.
        const all = yield* f.request("GET", events("mia"), { as: "mia" })
        assert.includeMembers(
          all.json.items.map((e: { seq: number }) => e.seq),
          found.map((e) => e.seq)
        )
      }).pipe(Effect.scoped),
    30_000
  )
})

describe("tenant plans", () => {
  it.live("show what the runtime provider would change, change nothing, and are for administrators", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const plan = (who: "root" | "tam" | "mia" | "otto", tenant = "mia") => f.request("GET", `/api/v1/tenants/${tenant}/plan`, { as: who })
      const first = yield* plan("root")
      assert.strictEqual(first.status, 200, JSON.stringify(first.json))
      assert.strictEqual(first.json.tenant, "mia")
      assert.isAbove(first.json.changes.length, 0, "nothing exists yet: everything is to create")
      assert.isTrue(first.json.changes.every((c: { action: string }) => c.action === "create"))
      // Planning changes nothing: the same plan again.
      assert.deepStrictEqual((yield* plan("root")).json, first.json)
      // Mia's team administrator may plan; Mia herself, another member and another team's may not.
      assert.strictEqual((yield* plan("tam")).status, 200)
      assert.strictEqual((yield* plan("mia")).status, 403)
      assert.strictEqual((yield* plan("otto")).status, 403)
      assert.strictEqual((yield* plan("tam", "otto")).status, 403)
      assert.strictEqual((yield* plan("root", "ghost")).status, 404)
    }).pipe(Effect.scoped)
  )
})
