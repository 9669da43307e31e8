/**
 * `clawfleet-agent`: the tenant agent as a process, configured from the environment, for the
 * sidecar next to a tenant's OpenClaw gateway (or next to a local gateway in development).
 */
import { Effect, Layer, Redacted } from "effect"
import { TenantAgent } from "./TenantAgent.ts"

const REQUIRED = [
  "CLAWFLEET_TENANT",
  "CLAWFLEET_CONTROL_PLANE_URL",
  "CLAWFLEET_ISSUER",
  "CLAWFLEET_TENANT_KEY",
  "OPENCLAW_GATEWAY_URL",
  "OPENCLAW_GATEWAY_TOKEN"
] as const

const missing = REQUIRED.filter((name) => (process.env[name] ?? "") === "")
if (missing.length > 0) {
  console.error(`clawfleet-agent: set ${missing.join(", ")}`)
  process.exit(2)
}
const env = (name: (typeof REQUIRED)[number]) => process.env[name] as string
const port = Number(process.env.PORT ?? 8080)
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`clawfleet-agent: PORT must be a port number, got ${process.env.PORT}`)
  process.exit(2)
}

const agent = TenantAgent.layer({
  tenant: env("CLAWFLEET_TENANT"),
  controlPlaneUrl: env("CLAWFLEET_CONTROL_PLANE_URL"),
  issuer: env("CLAWFLEET_ISSUER"),
  tenantKey: Redacted.make(env("CLAWFLEET_TENANT_KEY")),
  gateway: { url: env("OPENCLAW_GATEWAY_URL"), token: Redacted.make(env("OPENCLAW_GATEWAY_TOKEN")) },
  host: process.env.HOST ?? "0.0.0.0",
  port,
  secureCookie: process.env.CLAWFLEET_INSECURE_COOKIE !== "1",
  // Where OpenClaw loads skills from; without it the agent syncs none.
  ...(process.env.CLAWFLEET_SKILLS_DIR ? { skillsDir: process.env.CLAWFLEET_SKILLS_DIR } : {})
})

Effect.runFork(
  Effect.gen(function* () {
    const { url } = yield* TenantAgent
    yield* Effect.logInfo(`clawfleet-agent for tenant ${env("CLAWFLEET_TENANT")} on ${url}`)
    return yield* Effect.never
  }).pipe(Effect.provide(Layer.fresh(agent)), Effect.scoped)
)
