/**
 * `npm start` (`clawfleet dev`): the whole fleet on this machine, with nothing to set up. Only
 * composes and reports; everything it runs is in the library.
 */
import { resolve } from "node:path"
import { Audit } from "@clawfleet/core"
import { Cause, Effect, Exit, Fiber, Layer, Redacted } from "effect"
import * as Dev from "../dev/DevFleet.ts"
import { awaitReady } from "../dev/progress.ts"
import { seedDemoOrg } from "../dev/seed.ts"

const env = process.env
const dataDir = resolve(env.CLAWFLEET_DATA_DIR ?? ".clawfleet/dev")
const port = Number(env.CLAWFLEET_DEV_PORT ?? 4100)
if (!Number.isInteger(port) || port < 1 || port > 65_530) {
  console.error(`clawfleet dev: CLAWFLEET_DEV_PORT must be a port number up to 65530, got ${env.CLAWFLEET_DEV_PORT}`)
  process.exit(2)
}
const real = env.OPENAI_API_KEY
  ? { baseUrl: env.OPENAI_BASE_URL ?? "https://api.openai.com/v1", apiKey: Redacted.make(env.OPENAI_API_KEY) }
  : undefined
const model = env.CLAWFLEET_DEV_MODEL ?? (real ? "gpt-4.1-mini" : "demo-model")
const openclawVersion = env.CLAWFLEET_DEV_OPENCLAW ?? "2026.9.6"
const say = (line: string) => console.log(line)

const main = Effect.gen(function* () {
  const fleet = yield* Dev.DevFleet
  const seeded = yield* seedDemoOrg({ model, openclawVersion })
  const chain = yield* (yield* Audit).verifyAuditChain
  say(
    [
      "clawfleet dev — a development fleet on this machine (sign-in is development-only)",
      `  data          ${dataDir}${seeded ? " (demo organisation seeded)" : ""}`,
      `  control plane ${fleet.url}`,
      `  sign-in       ${fleet.signInUrl} (demo people: Ada Lovelace, Grace Hopper)`,
      `  token proxy   ${fleet.tokenProxyUrl}/v1 (${fleet.fakeModel ? `"${model}" gives canned answers; set OPENAI_API_KEY for a real model` : `"${model}" at ${real?.baseUrl}`})`,
      `  egress proxy  ${fleet.egressProxyUrl}`,
      `  tools         ${fleet.toolsUrl}/mcp`,
      `  audit         ${chain.events} events, chain ${chain.ok ? "verified" : `BROKEN at ${chain.brokenAt}: ${chain.reason}`}`,
      "",
      "Starting Ada's assistant (the first start installs OpenClaw, which takes a minute)..."
    ].join("\n")
  )
  yield* awaitReady("ada", say)
  say(
    `\nclawfleet dev is ready: ${fleet.url}\n  open Ada's assistant: ${fleet.url}/tenants/ada/open\n  (Ctrl-C stops every assistant; the data stays in ${dataDir})`
  )
  return yield* Effect.never
})

const fiber = Effect.runFork(
  main.pipe(Effect.provide(Layer.fresh(Dev.layer({ dataDir, port, upstream: real, model, openclawCache: env.CLAWFLEET_OPENCLAW_CACHE }))))
)

let stopping = false
const stop = (signal: string) => {
  if (stopping) {
    console.error(`clawfleet dev: ${signal} again, exiting now`)
    process.exit(130)
  }
  stopping = true
  say(`\nclawfleet dev: stopping (${signal})...`)
  Effect.runFork(Fiber.interrupt(fiber))
}
process.on("SIGINT", () => stop("SIGINT"))
process.on("SIGTERM", () => stop("SIGTERM"))

fiber.addObserver((exit) => {
  if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) {
    say("clawfleet dev: stopped")
    process.exit(0)
  }
  console.error(`clawfleet dev failed:\n${Cause.pretty(exit.cause)}`)
  if (Cause.pretty(exit.cause).includes("EADDRINUSE")) {
    console.error(`Another program uses one of the ports ${port}-${port + 4}; set CLAWFLEET_DEV_PORT to start elsewhere.`)
  }
  process.exit(1)
})
