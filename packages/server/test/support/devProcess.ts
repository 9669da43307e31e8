import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, readdirSync, readlinkSync } from "node:fs"
import { join, resolve } from "node:path"

export const repoRoot = resolve(import.meta.dirname, "../../../..")

export interface DevProcess {
  readonly child: ChildProcess
  /** Everything it printed so far, stdout and stderr. */
  readonly output: () => string
  /** Resolves with the first match of `pattern` in the output; rejects when it exits first or after `timeoutMs`. */
  readonly waitFor: (pattern: RegExp, timeoutMs: number) => Promise<RegExpMatchArray>
  readonly exited: Promise<number | null>
}

/**
 * Starts `clawfleet dev` the way `npm start` does (the server's entry under this Node, with the
 * source condition), in its own process group so a test can kill it like a user's terminal would.
 */
export const startDev = (env: Record<string, string>): DevProcess => {
  const child = spawn(process.execPath, ["--conditions=@clawfleet/source", join(repoRoot, "packages/server/src/bin/dev.ts")], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true
  })
  let output = ""
  const listeners = new Set<() => void>()
  const append = (chunk: Buffer) => {
    output += chunk.toString()
    for (const listener of listeners) listener()
  }
  child.stdout!.on("data", append)
  child.stderr!.on("data", append)
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)))
  const waitFor = (pattern: RegExp, timeoutMs: number) =>
    new Promise<RegExpMatchArray>((done, fail) => {
      const check = () => {
        const match = output.match(pattern)
        if (match === null) return
        cleanup()
        done(match)
      }
      const timer = setTimeout(() => {
        cleanup()
        fail(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${output}`))
      }, timeoutMs)
      const cleanup = () => {
        clearTimeout(timer)
        listeners.delete(check)
      }
      listeners.add(check)
      void exited.then((code) => {
        if (!listeners.has(check)) return
        cleanup()
        fail(new Error(`clawfleet dev exited with ${code} before ${pattern}; output:\n${output}`))
      })
      check()
    })
  return { child, output: () => output, waitFor, exited }
}

/** Processes whose working directory is inside `dir`: a tenant's gateway runs in its own directory. */
export const processesUnder = (dir: string): ReadonlyArray<number> =>
  readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return []
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`)
      return cwd === dir || cwd.startsWith(`${dir}/`) ? [Number(entry)] : []
    } catch {
      return []
    }
  })

/** Debian's Chromium, or the one `CHROMIUM_PATH` names. */
export const chromiumPath = () => {
  const path = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
  return existsSync(path) ? path : undefined
}
