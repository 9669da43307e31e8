/**
 * A process that embeds the local provider, for the test that kills it with SIGKILL:
 *
 *   node --conditions=@clawfleet/source provider-host.ts <dataDir> <tenant>...
 *
 * Applies each tenant with the stand-in gateway (tenants named `*-deaf` ignore SIGTERM), prints
 * `ready` once all are, and then waits to be killed.
 */
import { RuntimeProvider, type TenantRuntime, TenantSpec } from "@clawfleet/core"
import { Effect, Schedule, Schema } from "effect"
import * as Local from "../../src/index.ts"
import { fastConfig, standIn } from "./local.ts"

const [dataDir, ...tenants] = process.argv.slice(2)
if (dataDir === undefined || tenants.length === 0) throw new Error("usage: provider-host.ts <dataDir> <tenant>...")

const runtime = (tenant: string): TenantRuntime => ({
  tenant,
  generation: 1,
  owner: tenant,
  spec: Schema.decodeUnknownSync(TenantSpec)({
    owner: tenant,
    openclaw: { version: "2026.9.6" },
    resources: { cpu: "1", memory: "1Gi", storage: "1Gi" }
  }),
  access: { tenant, owner: tenant, skills: [], tools: [], knowledge: [], egress: [], models: [] },
  openclaw: { version: "2026.9.6", config: { gateway: { mode: "local", bind: "loopback" } } },
  secrets: [],
  suspended: false
})

const program = Effect.gen(function* () {
  const provider = yield* RuntimeProvider
  for (const tenant of tenants) yield* provider.apply(runtime(tenant))
  yield* Effect.forEach(tenants, (tenant) =>
    provider.observe(tenant).pipe(Effect.repeat({ until: (o) => o.workload.ready, schedule: Schedule.spaced("20 millis") }))
  )
  process.stdout.write("ready\n")
  return yield* Effect.never
}).pipe(
  Effect.provide(
    Local.layer(
      fastConfig(dataDir, {
        stopTimeoutMs: 1_000,
        gateway: { command: (ctx) => standIn(ctx.tenant.endsWith("-deaf") ? ["--ignore-sigterm"] : [])(ctx) }
      })
    )
  )
)

Effect.runFork(program)
