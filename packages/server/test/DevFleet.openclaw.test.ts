import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Fleet, Metering, PairingLinks, RecordStore, Tenants, withActor } from "@clawfleet/core"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted, Schedule } from "effect"
import * as Dev from "../src/dev/DevFleet.ts"
import { awaitReady } from "../src/dev/progress.ts"
import { seedDemoOrg } from "../src/dev/seed.ts"
import { freePortRange } from "./support/ports.ts"

/**
 * The development fleet end to end with the real pinned OpenClaw: Ada's assistant comes up behind
 * its tenant agent, lets in only a paired browser, sends its model calls through the token proxy
 * (they show in the ledger), and survives suspend and resume with its state; deleting it removes
 * its directory. The first run on a machine installs OpenClaw (about 650 MB, 30–40 s).
 */

const MODEL = "demo-model"
const dataDir = mkdtempSync(join(tmpdir(), "clawfleet-devfleet-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const tenantDir = join(dataDir, "runtime", "tenants", "ada")
const read = (file: string) => readFileSync(join(tenantDir, "clawfleet", file), "utf8").trim()

const fetchText = (url: string, init: RequestInit = {}) =>
  Effect.promise(async () => {
    const res = await fetch(url, { redirect: "manual", ...init })
    return { status: res.status, text: await res.text(), headers: res.headers }
  })

/** Runs one agent turn through the gateway, as `openclaw agent` does from the gateway's own host. */
const agentTurn = (entry: string, message: string) =>
  Effect.promise(
    () =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [entry, "agent", "--message", message, "--session-id", "e2e", "--json"], {
          cwd: tenantDir,
          env: {
            PATH: process.env.PATH ?? "",
            HOME: join(tenantDir, "home"),
            OPENCLAW_STATE_DIR: tenantDir,
            OPENCLAW_CONFIG_PATH: join(tenantDir, "openclaw.json"),
            OPENCLAW_GATEWAY_PORT: read("gateway-port"),
            OPENCLAW_GATEWAY_TOKEN: read("gateway-token"),
            CLAWFLEET_GATEWAY_TOKEN: read("gateway-token")
          },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let out = ""
        child.stdout.on("data", (d) => (out += d))
        child.stderr.on("data", (d) => (out += d))
        child.on("close", (code) => resolve({ code, out }))
      })
  )

describe("clawfleet dev with the real OpenClaw", () => {
  it.live(
    "Ada's assistant: Ready behind its agent, paired browsers only, model calls metered, suspend/resume keep state, delete removes it",
    () =>
      Effect.gen(function* () {
        const port = yield* Effect.promise(() => freePortRange(5))
        const ctx = yield* Layer.build(Dev.layer({ dataDir, port, model: MODEL }))
        const cp = <A, E>(e: Effect.Effect<A, E, any>) => e.pipe(Effect.provide(ctx), withActor("test")) as Effect.Effect<A, E>
        yield* cp(seedDemoOrg({ model: MODEL, openclawVersion: "2026.9.6" }))

        const lines: Array<string> = []
        const ready = yield* cp(awaitReady("ada", (l) => lines.push(l))).pipe(Effect.timeout("120 seconds"))
        const endpoint = ready.value.status.endpoint!
        assert.isTrue(lines.length > 0, "progress was reported while Ada's assistant started")

        // The control plane's other doors: ready, measured, documented, and closed to strangers.
        const url = Context.get(ctx, Dev.DevFleet).url
        assert.strictEqual((yield* fetchText(`${url}/readyz`)).status, 200)
        assert.include((yield* fetchText(`${url}/metrics`)).text, "clawfleet_reconciler_queue_depth")
        assert.strictEqual(JSON.parse((yield* fetchText(`${url}/openapi.json`)).text).info.title, "clawfleet")
        assert.strictEqual((yield* fetchText(`${url}/api/v1/me`)).status, 401)
        assert.strictEqual((yield* fetchText(`${url}/scim/v2/Users`)).status, 401)
        assert.include((yield* fetchText(`${url}/`)).text, "/auth/login", "the front page offers sign-in")

        // Only a paired browser gets through the agent.
        assert.strictEqual((yield* fetchText(`${endpoint}/readyz`)).status, 401)
        const link = yield* cp(Context.get(ctx, PairingLinks).create({ tenant: "ada", requester: { person: "ada", admin: false } }))
        const paired = yield* fetchText(Redacted.value(link.url))
        assert.strictEqual(paired.status, 303)
        const cookie = paired.headers.get("set-cookie")!.split(";")[0]!
        const readyz = yield* fetchText(`${endpoint}/readyz`, { headers: { cookie } })
        assert.strictEqual(readyz.status, 200)
        assert.isTrue((JSON.parse(readyz.text) as { ready?: boolean }).ready)

        // A turn through the gateway: its model call goes through the token proxy to the canned model.
        const entry = join(Context.get(ctx, Dev.DevFleet).openclawCache, "2026.9.6", "node_modules", "openclaw", "openclaw.mjs")
        const turn = yield* agentTurn(entry, "Say hello")
        assert.strictEqual(turn.code, 0, turn.out)
        const usage = yield* cp(Context.get(ctx, Metering).usage("ada"))
        assert.isAtLeast(usage.requests, 1, "the gateway's model call is in Ada's ledger")
        const ledger = yield* cp(Context.get(ctx, Metering).ledger("ada", { limit: 10 }))
        assert.isTrue(ledger.some((e) => e.model === MODEL && e.state === "settled"))

        // Its egress goes through the egress proxy as Ada's tenant: OpenClaw 2026.9.6 reaches for its
        // catalog and telemetry at start, which Ada is not granted, and no connection is anonymous.
        const egress = (yield* cp(Context.get(ctx, RecordStore).listAudit(0, 10_000))).filter((e) => e.action.startsWith("egress."))
        assert.isAbove(egress.length, 0, "the gateway's outbound calls reached the egress proxy")
        assert.deepStrictEqual([...new Set(egress.map((e) => e.actor))], ["tenant:ada"])
        assert.isTrue(egress.every((e) => e.decision === "not-granted"))

        // Suspend stops the process; resume brings it back with what it kept.
        const fleet = Context.get(ctx, Fleet)
        const tenants = Context.get(ctx, Tenants)
        const phase = (want: string) =>
          cp(tenants.get("ada")).pipe(
            Effect.repeat({ until: (t) => t.value.status.phase === want, schedule: Schedule.spaced("250 millis") }),
            Effect.timeout("120 seconds")
          )
        const sessions = join(tenantDir, "agents")
        assert.isTrue(existsSync(sessions), "the turn left a session in the state directory")
        yield* cp(fleet.suspendTenant("ada"))
        yield* phase("Suspended")
        const gone = yield* Effect.promise(() =>
          fetch(`http://127.0.0.1:${read("gateway-port")}/readyz`).then(
            () => false,
            () => true
          )
        )
        assert.isTrue(gone, "nothing listens once suspended")
        yield* cp(fleet.resumeTenant("ada"))
        yield* phase("Ready")
        assert.isTrue(existsSync(sessions), "the session survived suspend and resume")

        // Deleting the tenant removes its directory.
        yield* cp(fleet.deleteTenant("ada"))
        yield* Effect.promise(async () => {
          for (let i = 0; i < 240 && existsSync(tenantDir); i++) await new Promise((r) => setTimeout(r, 250))
        })
        assert.isFalse(existsSync(tenantDir), "delete removes the tenant's directory")
      }).pipe(Effect.scoped),
    { timeout: 300_000 }
  )
})
