import { type Tenant, Tenants } from "@clawfleet/core"
import { Effect, Schedule } from "effect"

/** One line about where a tenant is: its phase and, while it is not Ready, what it waits for. */
export const describeTenant = (tenant: Tenant) => {
  const { phase, conditions } = tenant.status
  if (phase === "Ready") return "Ready"
  const waiting = conditions.find((c) => c.type !== "Ready" && c.status !== "True") ?? conditions.find((c) => c.status !== "True")
  return waiting === undefined ? phase : `${phase}: ${waiting.message}`
}

/**
 * Waits until `name` is Ready, saying each new state as it comes: the first start of a fleet
 * installs OpenClaw and starts it, which takes tens of seconds, and silence would look like a hang.
 */
export const awaitReady = (name: string, say: (line: string) => void) =>
  Effect.gen(function* () {
    const tenants = yield* Tenants
    let last = ""
    return yield* tenants.get(name).pipe(
      Effect.tap((row) =>
        Effect.sync(() => {
          const line = describeTenant(row.value)
          if (line !== last) say(`  ${name}: ${line}`)
          last = line
        })
      ),
      Effect.repeat({ until: (row) => row.value.status.phase === "Ready", schedule: Schedule.spaced("500 millis") })
    )
  })
