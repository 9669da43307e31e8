import type { Readiness } from "@clawfleet/core"
import { describeExit, type ProcessStatus } from "../Supervisor.ts"

export const ready = (message: string): Readiness => ({ ready: true, reason: "Ready", message })
export const notReady = (reason: string, message: string): Readiness => ({ ready: false, reason, message })

const STDERR_LINES = 5
const STDERR_CHARS = 1_000

/** The last few lines a gateway wrote before it ended, short enough for a condition message. */
const stderrOf = (lines: ReadonlyArray<string>) => {
  const joined = lines.slice(-STDERR_LINES).join(" | ")
  if (joined === "") return ""
  return `; last stderr: ${joined.length > STDERR_CHARS ? `…${joined.slice(-STDERR_CHARS)}` : joined}`
}

const where = (s: ProcessStatus) =>
  `gateway${s.pid === undefined ? "" : ` pid ${s.pid}`}${s.port === undefined ? "" : ` on 127.0.0.1:${s.port}`}`

const history = (s: ProcessStatus) =>
  s.lastExit === undefined
    ? ""
    : `; restarted ${s.restarts} time${s.restarts === 1 ? "" : "s"}, last because it ${describeExit(s.lastExit)}`

/** What a supervised gateway's state means for the workload condition. */
export const workloadReadiness = (s: ProcessStatus, now: number): Readiness => {
  switch (s.phase) {
    case "Ready":
      return ready(`${where(s)} is ready${history(s)}`)
    case "Starting":
      return notReady("Starting", `${where(s)} is starting: ${s.detail}${history(s)}`)
    case "Unready":
      return notReady("Unready", `${where(s)} stopped saying it is ready: ${s.detail}`)
    case "BackOff": {
      const ended = s.lastExit
      const wait = s.retryAt === undefined ? 0 : Math.max(0, s.retryAt.getTime() - now)
      const how = ended === undefined ? "ended" : describeExit(ended)
      return notReady(
        "CrashLoopBackOff",
        `the gateway ${how} after ${ended?.uptimeMs ?? 0} ms (${s.failures} in a row); next start in ${wait} ms${stderrOf(ended?.stderr ?? [])}`
      )
    }
    case "Stopping":
      return notReady("Stopping", `${where(s)} is stopping: ${s.detail}`)
    case "Stopped":
      return notReady("Stopped", "the gateway was stopped")
  }
}
