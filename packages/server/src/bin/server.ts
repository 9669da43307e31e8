/**
 * The production server (`clawfleet start`): `runServer` with this process's arguments and
 * environment. SIGTERM or SIGINT stops it gracefully (listeners stop accepting, requests in
 * flight finish, tenants' gateways stop) and it exits 0; a bad configuration exits 1 with the
 * configuration error's message, which names every bad setting and no secret.
 */
import { Cause, Effect, Exit, Fiber } from "effect"
import { runServer } from "../Server.ts"

const fiber = Effect.runFork(runServer({ argv: process.argv.slice(2), env: process.env }))

let stopping = false
const stop = (signal: string) => {
  if (stopping) {
    console.error(`clawfleet: ${signal} again, exiting now`)
    process.exit(130)
  }
  stopping = true
  Effect.runFork(Fiber.interrupt(fiber))
}
process.on("SIGINT", () => stop("SIGINT"))
process.on("SIGTERM", () => stop("SIGTERM"))

fiber.addObserver((exit) => {
  if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) process.exit(0)
  const failure = Cause.findErrorOption(exit.cause)
  // A failure is an error the server knows (its configuration, a provider it cannot start): its
  // message says it all. A defect is a bug or the machine (a port in use): the whole cause.
  console.error(failure._tag === "Some" ? `clawfleet: ${failure.value.message}` : `clawfleet failed:\n${Cause.pretty(exit.cause)}`)
  process.exit(1)
})
