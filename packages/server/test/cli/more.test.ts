import * as http from "node:http"
import { listen, Metering } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { formatUsd } from "../../src/cli/UsageCommands.ts"
import { makeFixture, SAMPLES } from "../api/support.ts"
import { ALL_SCOPES, cli } from "./support.ts"

const rows = (stdout: string) => stdout.split("\n").map((l) => l.split(/\s{2,}/))

describe("clawfleet grants, usage, audit, install, dev, start", () => {
  it.live("grants: add, list, explain (allowed and denied, both exit 0), remove", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture({ catalog: true })
      const env = { CLAWFLEET_SERVER: f.origin, CLAWFLEET_TOKEN: yield* f.token("root", ALL_SCOPES) }

      const none = yield* cli(["grants", "explain", "--person", "mia", "--kind", "skill", "--name", SAMPLES.skills], env)
      assert.strictEqual(none.code, 0, none.stderr)
      assert.include(none.stdout, `mia may NOT use skill ${SAMPLES.skills}: denied`)
      assert.include(none.stdout, "no active grant allows it (deny by default)")

      const added = yield* cli(
        ["grants", "add", "--subject", "team:platform", "--kind", "skill", "--name", SAMPLES.skills, "--reason", "writers", "-o", "json"],
        env
      )
      assert.strictEqual(added.code, 0, added.stderr)
      const allow = JSON.parse(added.stdout) as { id: string; effect: string; subject: unknown; reason: string }
      assert.deepInclude(allow, { effect: "allow", subject: { kind: "team", id: "platform" }, reason: "writers" })

      const allowed = yield* cli(["grants", "explain", "--person", "mia", "--kind", "skill", "--name", SAMPLES.skills], env)
      assert.strictEqual(allowed.code, 0, allowed.stderr)
      assert.include(allowed.stdout, `mia MAY use skill ${SAMPLES.skills}: allowed`)
      assert.include(allowed.stdout, `grant ${allow.id}: writers`)
      assert.include(allowed.stdout, "person:mia (is mia) → team:platform (mia is in team platform)")

      const deny = yield* cli(["grants", "add", "--subject", "person:mia", "--kind", "skill", "--name", SAMPLES.skills, "--deny"], env)
      assert.strictEqual(deny.code, 0, deny.stderr)
      assert.match(rows(deny.stdout)[1]!.join(" "), /deny person:mia skill writer/)
      const denied = yield* cli(["grants", "explain", "--person", "mia", "--kind", "skill", "--name", SAMPLES.skills, "-o", "json"], env)
      assert.strictEqual(denied.code, 0, denied.stderr)
      const why = JSON.parse(denied.stdout)
      assert.deepInclude(why, { allowed: false, reason: "denied-by-grant" })
      assert.strictEqual(why.decidedBy.effect, "deny")
      assert.isString(why.decidedBy.createdAt)

      const mias = yield* cli(["grants", "list", "--subject", "person:mia"], env)
      assert.strictEqual(mias.code, 0, mias.stderr)
      assert.lengthOf(mias.stdout.split("\n"), 2)
      assert.match(mias.stdout.split("\n")[0]!, /^ID\s+EFFECT\s+SUBJECT\s+KIND\s+NAME/)
      const all = yield* cli(["grants", "ls", "-o", "json"], env)
      assert.sameMembers(
        (JSON.parse(all.stdout) as Array<{ id: string }>).map((g) => g.id),
        [f.seeded!.grant, allow.id, JSON.parse((yield* cli(["grants", "list", "--subject", "person:mia", "-o", "json"], env)).stdout)[0].id]
      )
      const models = yield* cli(["grants", "list", "--kind", "model", "-o", "json"], env)
      assert.lengthOf(JSON.parse(models.stdout), 1)

      const removed = yield* cli(["grants", "remove", allow.id], env)
      assert.strictEqual(removed.code, 0, removed.stderr)
      assert.strictEqual(removed.stdout, `Removed grant ${allow.id}.`)
      const again = yield* cli(["grants", "rm", allow.id], env)
      assert.strictEqual(again.code, 1)
      assert.include(again.stderr, "NotFound")

      const badSubject = yield* cli(["grants", "add", "--subject", "group:x", "--kind", "model", "--name", "*"], env)
      assert.strictEqual(badSubject.code, 2)
      assert.include(badSubject.stderr, "--subject group:x must be org, or person:<id>")
      const badEgress = yield* cli(["grants", "add", "--subject", "org", "--kind", "egress", "--name", "Not A Host"], env)
      assert.strictEqual(badEgress.code, 2)
      assert.include(badEgress.stderr, "--name Not A Host is not a valid egress name")
      const badKind = yield* cli(["grants", "add", "--subject", "org", "--kind", "gadget", "--name", "x"], env)
      assert.strictEqual(badKind.code, 2)
      assert.strictEqual((yield* cli(["grants", "remove", "not-a-uuid"], env)).code, 2)

      const member = { ...env, CLAWFLEET_TOKEN: yield* f.token("nemo", ALL_SCOPES) }
      const forbidden = yield* cli(["grants", "add", "--subject", "org", "--kind", "model", "--name", "*"], member)
      assert.strictEqual(forbidden.code, 1)
      assert.include(forbidden.stderr, "Forbidden")
    }).pipe(Effect.scoped)
  )

  it.live("usage: requests, tokens and spend against the tenant's budget", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const env = { CLAWFLEET_SERVER: f.origin, CLAWFLEET_TOKEN: yield* f.token("root", ALL_SCOPES) }
      yield* f.run(
        Effect.gen(function* () {
          const metering = yield* Metering
          for (const id of ["r1", "r2", "r3"]) {
            yield* metering.reserve({ requestId: id, tenant: "mia", model: "gpt-4.1", tokens: 100, micros: 10, limits: {} })
          }
          yield* metering.settle("r1", { inputTokens: 30, outputTokens: 20, micros: 250_000 })
          yield* metering.release("r2", "upstream-error")
        })
      )
      const read = yield* f.request("GET", "/api/v1/tenants/mia", { as: "root" })
      const patched = yield* f.request("PATCH", "/api/v1/tenants/mia", {
        as: "root",
        headers: { "if-match": read.headers.get("etag")! },
        body: { budget: { monthlyTokens: 1000, monthlyUsd: 2 } }
      })
      assert.strictEqual(patched.status, 200, JSON.stringify(patched.json))

      const table = yield* cli(["usage", "mia"], env)
      assert.strictEqual(table.code, 0, table.stderr)
      const lines = rows(table.stdout)
      assert.deepStrictEqual(lines[0], ["tenant: mia"])
      assert.match(lines[1]![0]!, /^period: \d{4}-\d{2}$/)
      assert.deepStrictEqual(lines[3], ["", "USED", "RESERVED", "BUDGET", "OF BUDGET"])
      assert.deepStrictEqual(lines[4], ["requests", "3", "-", "-", "-"])
      assert.deepStrictEqual(lines[5], ["tokens", "50", "100", "1000", "5%"])
      assert.deepStrictEqual(lines[6], ["spend", "$0.25", "$0.00001", "$2.00", "13%"])

      const json = yield* cli(["usage", "mia", "-o", "json"], env)
      assert.deepInclude(JSON.parse(json.stdout), { tenant: "mia", spentTokens: 50, budget: { monthlyTokens: 1000, monthlyUsd: 2 } })
      const old = yield* cli(["usage", "mia", "--period", "2001-01", "-o", "json"], env)
      assert.deepInclude(JSON.parse(old.stdout), { period: "2001-01", spentTokens: 0, requests: 0 })

      // Its owner reads the usage (and here the budget); without tenants:read the budget is left out.
      const owner = yield* cli(["usage", "mia", "-o", "json"], { ...env, CLAWFLEET_TOKEN: yield* f.token("mia", ["usage:read"]) })
      assert.strictEqual(owner.code, 0, owner.stderr)
      assert.isNull(JSON.parse(owner.stdout).budget)

      const bad = yield* cli(["usage", "mia", "--period", "2025-13"], env)
      assert.strictEqual(bad.code, 2)
      assert.include(bad.stderr, "--period 2025-13 must be a month")
      const ghost = yield* cli(["usage", "ghost"], env)
      assert.strictEqual(ghost.code, 1)
      assert.include(ghost.stderr, "NotFound")
      const otto = yield* cli(["usage", "mia"], { ...env, CLAWFLEET_TOKEN: yield* f.token("otto", ALL_SCOPES) })
      assert.strictEqual(otto.code, 1)
      assert.include(otto.stderr, "Forbidden")
    }).pipe(Effect.scoped)
  )

  it("formatUsd shows at least cents and every digit below them", () => {
    assert.strictEqual(formatUsd(0), "$0.00")
    assert.strictEqual(formatUsd(1_500_000), "$1.50")
    assert.strictEqual(formatUsd(1_234_567), "$1.234567")
    assert.strictEqual(formatUsd(10), "$0.00001")
  })

  it.live("audit: list pages by sequence number; verify exits 0 when the chain holds", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const env = { CLAWFLEET_SERVER: f.origin, CLAWFLEET_TOKEN: yield* f.token("root", ALL_SCOPES) }
      const total = yield* f.auditLength

      const verify = yield* cli(["audit", "verify"], env)
      assert.strictEqual(verify.code, 0, verify.stderr)
      assert.match(verify.stdout, new RegExp(`^The audit log verifies: ${total} events, head [0-9a-f]{64}\\.$`))
      const verifyJson = yield* cli(["audit", "verify", "-o", "json"], env)
      assert.deepInclude(JSON.parse(verifyJson.stdout), { ok: true, events: total })

      const first = yield* cli(["audit", "list", "--limit", "2"], env)
      assert.strictEqual(first.code, 0, first.stderr)
      const lines = rows(first.stdout)
      assert.deepStrictEqual(lines[0], ["SEQ", "AT", "ACTOR", "ACTION", "TARGET", "DECISION"])
      assert.deepStrictEqual(
        lines.slice(1).map((l) => l[0]),
        ["1", "2"]
      )
      assert.strictEqual(lines[1]![2], "test")
      assert.strictEqual(first.stderr, "more events follow: clawfleet audit list --after 2")

      const last = yield* cli(["audit", "ls", "--after", String(total - 1), "-o", "json"], env)
      assert.deepStrictEqual(
        (JSON.parse(last.stdout) as Array<{ seq: number }>).map((e) => e.seq),
        [total]
      )
      assert.strictEqual(last.stderr, "")
      const everything = yield* cli(["audit", "list", "--limit", "100000", "-o", "json"], env)
      assert.lengthOf(JSON.parse(everything.stdout), total)

      assert.strictEqual((yield* cli(["audit", "list", "--limit", "0"], env)).code, 2)
      assert.strictEqual((yield* cli(["audit", "list", "--after", "-1"], env)).code, 2)
      const member = yield* cli(["audit", "verify"], { ...env, CLAWFLEET_TOKEN: yield* f.token("mia", ALL_SCOPES) })
      assert.strictEqual(member.code, 1)
      assert.include(member.stderr, "Forbidden")
    }).pipe(Effect.scoped)
  )

  it.live("audit verify exits 1 and says where a broken chain breaks", () =>
    Effect.gen(function* () {
      // A server whose log was rewritten: the memory store behind the API fixture cannot be tampered with from here.
      const stub = http.createServer((req, res) => {
        if (req.url === "/api/v1/audit/verify") {
          res.writeHead(200, { "content-type": "application/json" })
          res.end(JSON.stringify({ ok: false, events: 2, brokenAt: 3, reason: "its content does not match its hash" }))
        } else res.writeHead(404).end()
      })
      const { origin } = yield* listen(stub, {})
      const env = { CLAWFLEET_SERVER: origin, CLAWFLEET_TOKEN: "cft_stub" }
      const broken = yield* cli(["audit", "verify"], env)
      assert.strictEqual(broken.code, 1)
      assert.strictEqual(
        broken.stderr,
        "clawfleet: the audit log does NOT verify: it breaks at event 3 (its content does not match its hash); the 2 events before it verify"
      )
      const json = yield* cli(["audit", "verify", "-o", "json"], env)
      assert.strictEqual(json.code, 1)
      assert.deepInclude(JSON.parse(json.stdout), { ok: false, brokenAt: 3 })
    }).pipe(Effect.scoped)
  )

  it.live("install --print prints the manifests without a server; a bad option exits 2 naming its flag", () =>
    Effect.gen(function* () {
      const base = ["install", "--print", "--image", "ghcr.io/clawfleet/server:1.0.0", "--public-url", "https://clawfleet.example.com"]
      const printed = yield* cli([...base, "--namespace", "fleet", "--replicas", "3"])
      assert.strictEqual(printed.code, 0, printed.stderr)
      assert.isTrue(printed.stdout.startsWith("---\napiVersion: v1\nkind: Namespace\n"))
      assert.include(printed.stdout, "kind: Deployment")
      assert.include(printed.stdout, "  replicas: 3\n")
      assert.include(printed.stdout, "namespace: fleet")
      assert.include(printed.stdout, "image: ghcr.io/clawfleet/server:1.0.0")
      assert.include(printed.stdout, "clawfleet-config")
      assert.strictEqual(printed.stderr, "")

      const one = yield* cli([...base, "--replicas", "1"])
      assert.strictEqual(one.code, 2)
      assert.include(one.stderr, "--replicas: replicas must be a whole number of at least 2, got 1")
      assert.strictEqual(one.stdout, "")
      const several = yield* cli([...base, "--namespace", "Bad_NS", "--config-secret", "Bad_Secret"])
      assert.strictEqual(several.code, 2)
      assert.include(several.stderr, '--namespace: namespace "Bad_NS" must be a DNS label')
      assert.include(several.stderr, '--config-secret: configSecretName "Bad_Secret"')
      const http = yield* cli(["install", "--print", "--image", "x:1", "--public-url", "http://clawfleet.example.com"])
      assert.strictEqual(http.code, 2)
      assert.include(http.stderr, "--public-url: publicUrl must be an https URL")

      const noPrint = yield* cli(base.filter((a) => a !== "--print"))
      assert.strictEqual(noPrint.code, 2)
      assert.include(noPrint.stderr, "kubectl apply --server-side -f -")
      assert.strictEqual((yield* cli(["install", "--print", "--public-url", "https://x.example.com"])).code, 2)
    })
  )

  it.live("dev and start are documented; start exits 2 naming every problem of its configuration", () =>
    Effect.gen(function* () {
      const dev = yield* cli(["dev", "--help"])
      assert.strictEqual(dev.code, 0, dev.stderr)
      assert.include(dev.stdout, "Run the development fleet on this machine (what npm start runs)")
      assert.include(dev.stdout, "CLAWFLEET_DEV_PORT")
      const top = yield* cli(["--help"])
      for (const command of ["grants", "usage", "audit", "install", "start", "dev"]) assert.include(top.stdout, command)

      const start = yield* cli(["start", "--help"])
      assert.strictEqual(start.code, 0, start.stderr)
      assert.include(start.stdout, "--config")
      assert.include(start.stdout, "Run the production clawfleet server")
      const missing = yield* cli(["start", "--config", "/nonexistent/clawfleet.json"])
      assert.strictEqual(missing.code, 2)
      assert.include(missing.stderr, "invalid server configuration")
      assert.include(missing.stderr, "/nonexistent/clawfleet.json")
    })
  )
})
