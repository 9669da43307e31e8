/**
 * Runs one gateway and makes sure it cannot outlive the provider that asked for it.
 *
 *   node watchdog.js <graceMs> <command> [args...]
 *
 * The provider spawns this script detached, so it leads a process group of its own; the gateway
 * it starts stays in that group. Its standard input is a pipe whose other end only the provider
 * holds: when that end closes, the provider is gone (even by SIGKILL, which no handler sees), and
 * the watchdog stops the whole group — SIGTERM, then SIGKILL after the grace period.
 *
 * File descriptor 3 carries one JSON line per event (`spawned` with the gateway's pid, `exit`
 * with its code and signal, `error` when it could not start), because the watchdog's own exit
 * status cannot say that a child died of a signal.
 *
 * Runs as a plain script under the provider's Node: node: built-ins only.
 */
import { spawn } from "node:child_process"
import { writeSync } from "node:fs"
import { constants } from "node:os"

const REPORT_FD = 3

const report = (event: Record<string, unknown>) => {
  try {
    writeSync(REPORT_FD, `${JSON.stringify(event)}\n`)
  } catch {
    // The provider is gone; the lifeline handler below takes care of the group.
  }
}

const [graceArg, command, ...args] = process.argv.slice(2)
const graceMs = Number(graceArg)
if (command === undefined || !Number.isFinite(graceMs)) {
  report({ event: "error", message: "usage: watchdog <graceMs> <command> [args...]" })
  process.exit(2)
}

// The provider signals the group, so the gateway already has the signal: the watchdog stays to
// report how the gateway ended.
process.on("SIGTERM", () => {})
process.on("SIGINT", () => {})
process.on("SIGHUP", () => {})

const signalGroup = (signal: NodeJS.Signals) => {
  try {
    process.kill(-process.pid, signal)
  } catch {
    // Nobody left in the group.
  }
}

let orphaned = false
const onOrphaned = () => {
  if (orphaned) return
  orphaned = true
  signalGroup("SIGTERM")
  // Unref'd: if the gateway exits in time the watchdog exits with it; otherwise SIGKILL ends
  // both, the watchdog included.
  setTimeout(() => signalGroup("SIGKILL"), graceMs).unref()
}
process.stdin.on("end", onOrphaned)
process.stdin.on("close", onOrphaned)
process.stdin.on("error", onOrphaned)
process.stdin.resume()

const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"] })
child.on("spawn", () => report({ event: "spawned", pid: child.pid }))
child.on("error", (error) => {
  report({ event: "error", message: error.message })
  process.exit(127)
})
child.on("exit", (code, signal) => {
  report({ event: "exit", code, signal })
  // The provider kills whatever the gateway left behind in the group once the watchdog is gone;
  // killing the group from here would take the watchdog down before it exits cleanly.
  process.exit(code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0)))
})
