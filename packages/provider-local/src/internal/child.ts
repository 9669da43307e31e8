import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

/** One program to run: what the gateway command produced, plus where. */
export interface Launch {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string
}

/** How a gateway ended. `error` is set when it never started (no such command, say). */
export interface ChildExit {
  readonly code: number | null
  readonly signal: string | null
  readonly error?: string | undefined
  /** Its last lines of standard error, oldest first. */
  readonly stderr: ReadonlyArray<string>
}

/** A running gateway under its watchdog; both share one process group led by the watchdog. */
export interface Child {
  /** The watchdog's pid, which is also the group's id; undefined when it could not be spawned. */
  readonly groupId: number | undefined
  /** The gateway's own pid, once the watchdog has reported it. */
  readonly gatewayPid: () => number | undefined
  readonly exited: Promise<ChildExit>
  readonly hasExited: () => boolean
  /** Signals the whole group; a group that is already gone is not an error. */
  readonly signal: (signal: NodeJS.Signals) => void
}

const TAIL_LINES = 20
const LINE_CHARS = 400

/** Keeps the last lines of a stream, each cut to a bounded length, so a chatty crash costs little. */
class Tail {
  private readonly lines: Array<string> = []
  private partial = ""
  push(chunk: string) {
    const parts = (this.partial + chunk).split("\n")
    this.partial = (parts.pop() ?? "").slice(-LINE_CHARS)
    for (const line of parts) this.add(line)
  }
  snapshot(): ReadonlyArray<string> {
    return this.partial === "" ? [...this.lines] : [...this.lines, this.partial].slice(-TAIL_LINES)
  }
  private add(line: string) {
    const trimmed = line.trimEnd()
    if (trimmed === "") return
    this.lines.push(trimmed.length > LINE_CHARS ? `${trimmed.slice(0, LINE_CHARS)}…` : trimmed)
    if (this.lines.length > TAIL_LINES) this.lines.shift()
  }
}

// Source runs `watchdog.ts` beside this file; the build bundles this file into dist/index.js and
// emits the watchdog as dist/internal/watchdog.js.
const watchdogScript = (() => {
  let found: string | undefined
  return () => {
    if (found !== undefined) return found
    for (const candidate of ["./watchdog.js", "./internal/watchdog.js", "./watchdog.ts"]) {
      const path = fileURLToPath(new URL(candidate, import.meta.url))
      if (existsSync(path)) return (found = path)
    }
    throw new Error("the gateway watchdog script is missing from @clawfleet/provider-local")
  }
})()

const signalGroup = (groupId: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-groupId, signal)
  } catch {
    // ESRCH: nobody left in the group.
  }
}

/** Still a process, and not a zombie: its exit is finished once it is gone or a zombie. */
export const running = (pid: number) => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z"
  } catch {
    // No procfs (macOS): kill succeeding is all there is to go on.
    return true
  }
}

// A process closes its files before the kernel finishes its exit, so the pipes closing can come
// a moment before the gateway is gone; callers that restart it on the same port need it gone.
const GONE_WAIT_MS = 2_000
const awaitGone = async (pid: number | undefined) => {
  if (pid === undefined) return
  const deadline = Date.now() + GONE_WAIT_MS
  while (running(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
}

type Report =
  | { event: "spawned"; pid: number }
  | { event: "exit"; code: number | null; signal: string | null }
  | { event: "error"; message: string }

/**
 * Starts `launch` under the watchdog, detached into a process group of its own. The watchdog's
 * standard input is the lifeline: this process never writes to it and never closes it, so it
 * closes exactly when this process dies.
 */
export const startChild = (launch: Launch, graceMs: number): Child => {
  const watchdog: ChildProcess = spawn(process.execPath, [watchdogScript(), String(graceMs), launch.command, ...launch.args], {
    cwd: launch.cwd,
    env: launch.env,
    detached: true,
    stdio: ["pipe", "pipe", "pipe", "pipe"]
  })
  const stderr = new Tail()
  let gatewayPid: number | undefined
  let reported: Report | undefined
  let done = false

  watchdog.stdin?.on("error", () => {})
  watchdog.stdout?.resume()
  watchdog.stderr?.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk))
  let reportBuffer = ""
  const reports = watchdog.stdio[3]
  reports?.on("error", () => {})
  reports?.on("data", (chunk: Buffer) => {
    const lines = (reportBuffer + chunk.toString("utf8")).split("\n")
    reportBuffer = lines.pop() ?? ""
    for (const line of lines) {
      try {
        const report = JSON.parse(line) as Report
        if (report.event === "spawned") gatewayPid = report.pid
        else reported = report
      } catch {
        // Not ours: the protocol is one JSON object per line.
      }
    }
  })

  const exited = new Promise<ChildExit>((resolve) => {
    let own: { code: number | null; signal: string | null } | undefined
    let spawnError: string | undefined
    const finish = async () => {
      if (done) return
      done = true
      await awaitGone(gatewayPid)
      const r = reported
      resolve(
        r?.event === "exit"
          ? { code: r.code, signal: r.signal, stderr: stderr.snapshot() }
          : r?.event === "error"
            ? { code: null, signal: null, error: r.message, stderr: stderr.snapshot() }
            : { code: own?.code ?? null, signal: own?.signal ?? null, error: spawnError, stderr: stderr.snapshot() }
      )
    }
    watchdog.on("error", (error) => {
      spawnError = error.message
      void finish()
    })
    watchdog.on("exit", (code, signal) => {
      own = { code, signal }
      // Whatever the gateway started and left behind goes with it; once the group is empty the
      // pipes close and the last lines of output arrive.
      if (watchdog.pid !== undefined) signalGroup(watchdog.pid, "SIGKILL")
      setTimeout(finish, 2_000).unref()
    })
    watchdog.on("close", finish)
  })

  return {
    groupId: watchdog.pid,
    gatewayPid: () => gatewayPid,
    exited,
    hasExited: () => done,
    signal: (signal) => {
      if (!done && watchdog.pid !== undefined) signalGroup(watchdog.pid, signal)
    }
  }
}
