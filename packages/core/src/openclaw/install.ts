import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { access, mkdir, readdir, readFile, rename, rm, stat, utimes } from "node:fs/promises"
import { homedir } from "node:os"
import { delimiter, dirname, join, resolve } from "node:path"
import { Clock, Effect, Schedule, Schema } from "effect"
import { OpenClawVersion } from "../domain/Names.ts"

export const OpenClawInstallErrorReason = Schema.Literals(["InvalidVersion", "NpmFailed", "LockTimeout", "Filesystem"])
export type OpenClawInstallErrorReason = typeof OpenClawInstallErrorReason.Type

/**
 * A version that could not be installed. npm failing is most often the network or the registry,
 * and an install that held the lock too long may be done by the next try: both can pass by trying
 * again. A string that is not a version, or a cache that cannot be written, stays that way.
 */
export class OpenClawInstallError extends Schema.TaggedError<OpenClawInstallError>()("OpenClawInstallError", {
  reason: OpenClawInstallErrorReason,
  detail: Schema.String,
  version: Schema.String
}) {
  override get message() {
    return `openclaw@${this.version}: ${this.reason}: ${this.detail}`
  }
  get isRetryable(): boolean {
    return this.reason === "NpmFailed" || this.reason === "LockTimeout"
  }
}

export interface OpenClawInstall {
  readonly version: string
  readonly dir: string
  /** The CLI's entry script, to run with this process's Node (OpenClaw needs Node >= 24.16). */
  readonly entry: string
}

export interface OpenClawInstallOptions {
  readonly version: string
  /** Holds one directory per version; `defaultOpenClawCache()` when not given. */
  readonly cacheDir?: string | undefined
  /** Told what is going on in lines for a person: a first install takes a minute or more. */
  readonly onProgress?: ((line: string) => void) | undefined
  /** The npm executable; `npm` on PATH when not given. */
  readonly npm?: string | undefined
}

/**
 * `$CLAWFLEET_OPENCLAW_CACHE`, else `~/.cache/clawfleet/openclaw`: outside any checkout, because a
 * version is 650 MB and every clone and process on the machine can share it.
 */
export const defaultOpenClawCache = (): string => process.env.CLAWFLEET_OPENCLAW_CACHE || join(homedir(), ".cache", "clawfleet", "openclaw")

/** PATH with this process's Node first, so npm, OpenClaw's install scripts and OpenClaw run on it. */
export const pathWithOurNode = (): string => [dirname(process.execPath), process.env.PATH ?? ""].join(delimiter)

// The holder touches its lock while it works, so an untouched lock was left by an installer that died.
const STALE_LOCK_MS = 5 * 60_000
const HEARTBEAT = "30 seconds"
const LOCK_WAIT = "10 minutes"
const POLL = "500 millis"
const STDERR_TAIL_CHARS = 4000
const KILL_GRACE_MS = 5_000

// The version becomes an npm spec and a directory name: only what a tenant may pin gets that far,
// never a tag, a range, a path, a URL or an extra argument.
const isVersion = Schema.is(OpenClawVersion)

const entryOf = (dir: string) => join(dir, "node_modules", "openclaw", "openclaw.mjs")
const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e))
const removeDir = (dir: string) => Effect.promise(() => rm(dir, { recursive: true, force: true }).catch(() => undefined))

const fail = (reason: OpenClawInstallErrorReason, version: string, detail: string) =>
  Effect.fail(new OpenClawInstallError({ reason, version, detail }))

const fsStep = <A>(version: string, what: string, run: () => Promise<A>) =>
  Effect.tryPromise({
    try: run,
    catch: (e) => new OpenClawInstallError({ reason: "Filesystem", version, detail: `${what}: ${messageOf(e)}` })
  })

/** Whether `dir` holds this very version: a directory of that name holding another is not it. */
const isInstalled = (dir: string, version: string) =>
  Effect.promise(() =>
    readFile(join(dir, "node_modules", "openclaw", "package.json"), "utf8")
      .then((text) => ((JSON.parse(text) as { version?: unknown }).version === version ? access(entryOf(dir)).then(() => true) : false))
      .catch(() => false)
  )

const signalGroup = (pid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(process.platform === "win32" ? pid : -pid, signal)
  } catch {
    // ESRCH: nobody left.
  }
}

/**
 * Runs npm in a process group of its own, so that interrupting it also stops the install scripts
 * it started; the interruption returns once npm has exited, so nothing writes to the staging
 * directory after it is removed.
 */
const runNpm = (npm: string, args: ReadonlyArray<string>, version: string) =>
  Effect.callback<void, OpenClawInstallError>((resume) => {
    let settled = false
    const settle = (effect: Effect.Effect<void, OpenClawInstallError>) => {
      if (settled) return
      settled = true
      resume(effect)
    }
    const child = spawn(npm, args, {
      env: { ...process.env, PATH: pathWithOurNode() },
      stdio: ["ignore", "ignore", "pipe"],
      detached: process.platform !== "win32"
    })
    let stderr = ""
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS)))
    child.on("error", (e) => settle(fail("NpmFailed", version, `could not run ${npm}: ${e.message}`)))
    child.on("close", (code, signal) =>
      settle(code === 0 ? Effect.void : fail("NpmFailed", version, `npm install exited with ${code ?? signal}:\n${stderr.trimEnd()}`))
    )
    return Effect.callback<void>((stopped) => {
      const pid = child.pid
      if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return stopped(Effect.void)
      const force = setTimeout(() => signalGroup(pid, "SIGKILL"), KILL_GRACE_MS)
      child.once("exit", () => {
        clearTimeout(force)
        stopped(Effect.void)
      })
      signalGroup(pid, "SIGTERM")
    })
  })

type Say = (line: string) => Effect.Effect<void>

/**
 * Takes the version's lock (mkdir is atomic) until the scope closes, or finds that whoever held it
 * installed the version meanwhile.
 */
const takeLock = (lock: string, dir: string, version: string, say: Say) =>
  Effect.gen(function* () {
    const tryLock = Effect.acquireRelease(
      fsStep(version, `creating the lock ${lock}`, () =>
        mkdir(lock).then(
          () => true,
          (e) => ((e as NodeJS.ErrnoException).code === "EEXIST" ? false : Promise.reject(e))
        )
      ),
      (held) => (held ? removeDir(lock) : Effect.void)
    )
    const lockAge = Effect.promise(() =>
      stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0
      )
    )
    let told = false
    for (;;) {
      if (yield* tryLock) return "held" as const
      if (yield* isInstalled(dir, version)) return "installed" as const
      if (!told) yield* say(`waiting for another install of openclaw@${version} to finish`)
      told = true
      if ((yield* lockAge) > STALE_LOCK_MS) {
        yield* say(`removing ${lock}: its installer stopped more than 5 minutes ago`)
        yield* removeDir(lock)
      } else {
        yield* Effect.sleep(POLL)
      }
    }
  }).pipe(
    Effect.timeoutOrElse({
      duration: LOCK_WAIT,
      orElse: () => fail("LockTimeout", version, `another install of this version held ${lock} for more than 10 minutes`)
    })
  )

/**
 * Makes sure `openclaw@<version>` is installed in `<cacheDir>/<version>` and says where. Returns at
 * once when it is; otherwise installs it with npm into a staging directory renamed into place, so
 * nobody ever sees half an install, one installer at a time per version across processes.
 * Interrupting it stops npm and removes the staging directory.
 */
export const installOpenClaw: (options: OpenClawInstallOptions) => Effect.Effect<OpenClawInstall, OpenClawInstallError> = Effect.fn(
  "installOpenClaw"
)(function* (options: OpenClawInstallOptions) {
  const { version } = options
  if (!isVersion(version)) {
    return yield* fail("InvalidVersion", version, `${JSON.stringify(version)} is not a pinned OpenClaw version such as 2026.9.6`)
  }
  const cache = resolve(options.cacheDir ?? defaultOpenClawCache())
  const dir = join(cache, version)
  const install: OpenClawInstall = { version, dir, entry: entryOf(dir) }
  if (yield* isInstalled(dir, version)) return install
  const say: Say = (line) =>
    Effect.sync(() => {
      try {
        options.onProgress?.(line)
      } catch {
        // Reporting progress is a courtesy: it does not get to fail the install.
      }
    })
  yield* fsStep(version, `creating ${cache}`, () => mkdir(cache, { recursive: true }))

  return yield* Effect.scoped(
    Effect.gen(function* () {
      const lock = `${dir}.lock`
      if ((yield* takeLock(lock, dir, version, say)) === "installed" || (yield* isInstalled(dir, version))) return install
      const touch = Effect.promise(() => utimes(lock, new Date(), new Date()).catch(() => undefined))
      yield* Effect.forkScoped(Effect.repeat(touch, Schedule.spaced(HEARTBEAT)))

      // Holding the lock, any staging directory of this version is one a dead installer left: 650 MB each.
      const stagingPrefix = `${version}.tmp-`
      const leftovers = yield* fsStep(version, `reading ${cache}`, () => readdir(cache))
      yield* Effect.forEach(
        leftovers.filter((name) => name.startsWith(stagingPrefix)),
        (name) => removeDir(join(cache, name)),
        {
          discard: true
        }
      )

      const started = yield* Clock.currentTimeMillis
      yield* say(`installing openclaw@${version} into ${dir} (first use of this version; about 650 MB)`)
      const staging = yield* Effect.acquireRelease(
        fsStep(version, "creating a staging directory", async () => {
          const path = join(cache, `${stagingPrefix}${process.pid}-${randomBytes(4).toString("hex")}`)
          await mkdir(path)
          return path
        }),
        removeDir
      )
      const args = ["install", "--prefix", staging, "--no-save", "--no-audit", "--no-fund", "--loglevel=error", `openclaw@${version}`]
      yield* runNpm(options.npm ?? "npm", args, version)
      if (!(yield* isInstalled(staging, version))) {
        return yield* fail("NpmFailed", version, `npm install succeeded but left no openclaw@${version} in ${staging}`)
      }
      yield* fsStep(version, `moving the install into ${dir}`, async () => {
        await rm(dir, { recursive: true, force: true })
        await rename(staging, dir)
      }).pipe(Effect.uninterruptible)
      const seconds = Math.round(((yield* Clock.currentTimeMillis) - started) / 1000)
      yield* say(`installed openclaw@${version} in ${seconds} s`)
      return install
    })
  )
})
