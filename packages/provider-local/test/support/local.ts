import { mkdtempSync, readFileSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { type Observation, RuntimeProvider } from "@clawfleet/core"
import { Effect, Schedule } from "effect"
import type { GatewayCommand, LocalConfigInput } from "../../src/index.ts"
import { running } from "../../src/internal/child.ts"

export const standInScript = fileURLToPath(new URL("./stand-in-gateway.ts", import.meta.url))

/** The stand-in gateway as the provider's command, with misbehaviour flags for one test. */
export const standIn =
  (flags: ReadonlyArray<string> = []): GatewayCommand =>
  (ctx) => ({
    command: process.execPath,
    args: [standInScript, "--port", String(ctx.port), ...flags],
    env: { OPENCLAW_GATEWAY_TOKEN: ctx.token }
  })

/** The stand-in with flags chosen by tenant, so one provider can host every misbehaviour. */
export const standInFor =
  (flags: Readonly<Record<string, ReadonlyArray<string>>>): GatewayCommand =>
  (ctx) =>
    standIn(flags[ctx.tenant] ?? [])(ctx)

export const tempDataDir = (label: string) => mkdtempSync(join(tmpdir(), `clawfleet-local-${label}-`))

/** A quick configuration: short delays so supervision is visible in a fast test. */
export const fastConfig = (dataDir: string, overrides: Partial<LocalConfigInput> = {}): LocalConfigInput => ({
  dataDir,
  gateway: { command: standIn() },
  egressProxyUrl: "http://127.0.0.1:3128",
  stopTimeoutMs: 2_000,
  readiness: { intervalMs: 50, timeoutMs: 1_000 },
  restart: { initialDelayMs: 200, maxDelayMs: 1_000, stableAfterMs: 60_000 },
  ...overrides
})

export const tenantDir = (dataDir: string, tenant: string) => join(dataDir, "tenants", tenant)

export const observe = (tenant: string) => RuntimeProvider.use((p) => p.observe(tenant))

/** Polls the tenant's observation until `check` holds, and returns that observation. */
export const observeUntil = (tenant: string, check: (o: Observation) => boolean, what: string, withinMs = 10_000) =>
  observe(tenant).pipe(
    Effect.repeat({ until: check, schedule: Schedule.spaced("20 millis") }),
    Effect.timeoutOrElse({
      duration: withinMs,
      orElse: () =>
        Effect.flatMap(observe(tenant), (o) =>
          Effect.die(new Error(`${tenant}: ${what} not reached in ${withinMs} ms: ${JSON.stringify(o.workload)}`))
        )
    })
  )

export const isReady = (o: Observation) => o.workload.ready

const portOf = (o: Observation) => Number(new URL(o.endpoint!).port)

/** Calls the stand-in with the tenant's token. */
export const callGateway = (dataDir: string, tenant: string, o: Observation, path: string, method = "GET") =>
  Effect.promise(async () => {
    const token = (await readFile(join(tenantDir(dataDir, tenant), "clawfleet", "gateway-token"), "utf8")).trim()
    const res = await fetch(`http://127.0.0.1:${portOf(o)}${path}`, { method, headers: { authorization: `Bearer ${token}` } })
    return { status: res.status, body: (await res.text()) as string }
  })

export interface WhoAmI {
  readonly pid: number
  readonly port: number
  readonly home: string
  readonly stateDir: string
  readonly configPath: string
  readonly env: Record<string, string>
  readonly config: unknown
}

export const whoami = (dataDir: string, tenant: string, o: Observation) =>
  Effect.map(callGateway(dataDir, tenant, o, "/whoami"), (r) => JSON.parse(r.body) as WhoAmI)

/** The stand-in's record of its starts under the tenant's state directory. */
export const boots = (dataDir: string, tenant: string) =>
  readFileSync(join(tenantDir(dataDir, tenant), "stand-in", "boots"), "utf8")
    .trim()
    .split("\n")
    .map(Number)

/** Alive and not a zombie waiting for a parent that will never reap it. */
export const alive = running
