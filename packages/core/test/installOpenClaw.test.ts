import { existsSync, readFileSync } from "node:fs"
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { defaultOpenClawCache, installOpenClaw, OpenClawInstallError, type OpenClawInstallOptions, OpenClawVersion } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schema } from "effect"
import fc from "fast-check"

// A stand-in for npm that does what `npm install --prefix <dir> openclaw@<v>` leaves behind, in
// milliseconds, and logs every run so a test can count them.
type Mode = "install" | "fail" | "hang"

const fakeNpmSource = (log: string, mode: Mode, delayMs: number) => `#!/usr/bin/env node
import { spawn } from "node:child_process"
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
const args = process.argv.slice(2)
const prefix = args[args.indexOf("--prefix") + 1]
const spec = args.at(-1)
const mode = ${JSON.stringify(mode)}
if (mode === "fail") {
  process.stderr.write("npm http fetch GET https://registry.npmjs.org/openclaw\\n".repeat(200))
  process.stderr.write("npm error code ECONNRESET\\nnpm error network aborted while fetching " + spec + "\\n")
  process.exit(1)
}
mkdirSync(join(prefix, "node_modules", ".staging"), { recursive: true })
writeFileSync(join(prefix, "node_modules", ".staging", "part"), "half a download")
if (mode === "hang") {
  // An install script it started: interrupting must stop it too.
  const script = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" })
  appendFileSync(${JSON.stringify(log)}, JSON.stringify({ pid: process.pid, script: script.pid, args }) + "\\n")
  setInterval(() => {}, 1000)
} else {
  appendFileSync(${JSON.stringify(log)}, JSON.stringify({ pid: process.pid, args }) + "\\n")
  await new Promise((r) => setTimeout(r, ${delayMs}))
  const pkg = join(prefix, "node_modules", "openclaw")
  mkdirSync(pkg, { recursive: true })
  writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "openclaw", version: spec.slice("openclaw@".length) }))
  writeFileSync(join(pkg, "openclaw.mjs"), "console.log('fake openclaw')\\n")
}
`

interface Run {
  readonly pid: number
  readonly script?: number
  readonly args: ReadonlyArray<string>
}

/** A fresh cache directory (not created yet) and a fake npm beside it, removed after the test. */
const setup = (mode: Mode = "install", delayMs = 0) =>
  Effect.gen(function* () {
    const root = yield* Effect.acquireRelease(
      Effect.promise(() => mkdtemp(join(tmpdir(), "clawfleet-install-"))),
      (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
    )
    const log = join(root, "npm.log")
    const npm = join(root, "npm.mjs")
    yield* Effect.promise(async () => {
      await writeFile(npm, fakeNpmSource(log, mode, delayMs))
      await chmod(npm, 0o755)
    })
    const cacheDir = join(root, "cache")
    const progress: Array<string> = []
    const runs = () =>
      Effect.promise(() =>
        readFile(log, "utf8").then(
          (text) =>
            text
              .trim()
              .split("\n")
              .filter(Boolean)
              .map((line) => JSON.parse(line) as Run),
          () => [] as Array<Run>
        )
      )
    const options = (version: string, extra: Partial<OpenClawInstallOptions> = {}): OpenClawInstallOptions => ({
      version,
      cacheDir,
      npm,
      onProgress: (line) => progress.push(line),
      ...extra
    })
    const listing = () => Effect.promise(() => readdir(cacheDir).catch(() => [] as Array<string>))
    return { root, cacheDir, npm, progress, runs, options, listing }
  })

const failure = <A>(exit: Exit.Exit<A, OpenClawInstallError>): OpenClawInstallError => {
  assert.isTrue(Exit.isFailure(exit), "expected the install to fail")
  const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
  assert.instanceOf(error, OpenClawInstallError)
  return error as OpenClawInstallError
}

// A zombie still answers kill(0); on Linux its state in /proc says it is gone.
const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0)
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT"
  }
}

const waitUntil = (what: string, check: Effect.Effect<boolean>) =>
  Effect.gen(function* () {
    for (let i = 0; i < 250; i++) {
      if (yield* check) return
      yield* Effect.sleep("20 millis")
    }
    assert.fail(`timed out waiting until ${what}`)
  })

const version = "2026.9.6"

describe("installOpenClaw", () => {
  it.live("installs once, then finds the install without running npm", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      const first = yield* installOpenClaw(t.options(version))
      assert.deepStrictEqual(first, {
        version,
        dir: join(t.cacheDir, version),
        entry: join(t.cacheDir, version, "node_modules", "openclaw", "openclaw.mjs")
      })
      assert.isTrue(existsSync(first.entry))
      const [run] = yield* t.runs()
      assert.deepStrictEqual(run?.args.slice(0, 2), ["install", "--prefix"])
      assert.strictEqual(run?.args.at(-1), `openclaw@${version}`)
      assert.deepStrictEqual(yield* t.listing(), [version])

      t.progress.length = 0
      const second = yield* installOpenClaw(t.options(version))
      assert.deepStrictEqual(second, first)
      assert.lengthOf(yield* t.runs(), 1)
      assert.deepStrictEqual(t.progress, [])
    })
  )

  it.live("tells what it does in lines for a person", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      yield* installOpenClaw(t.options(version))
      const dir = join(t.cacheDir, version)
      assert.strictEqual(t.progress.length, 2, t.progress.join("\n"))
      assert.strictEqual(t.progress[0], `installing openclaw@${version} into ${dir} (first use of this version; about 650 MB)`)
      assert.match(t.progress[1]!, new RegExp(`^installed openclaw@${version.replaceAll(".", "\\.")} in \\d+ s$`))
    })
  )

  it.live("two installs at once run npm once; the second waits for the first", () =>
    Effect.gen(function* () {
      const t = yield* setup("install", 400)
      const [a, b] = yield* Effect.all([installOpenClaw(t.options(version)), installOpenClaw(t.options(version))], {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(a, b)
      assert.lengthOf(yield* t.runs(), 1)
      assert.include(t.progress, `waiting for another install of openclaw@${version} to finish`)
      assert.deepStrictEqual(yield* t.listing(), [version])
    })
  )

  it.live("replaces a directory that holds another version", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      const pkg = join(t.cacheDir, version, "node_modules", "openclaw")
      yield* Effect.promise(async () => {
        await mkdir(pkg, { recursive: true })
        await writeFile(join(pkg, "package.json"), JSON.stringify({ name: "openclaw", version: "2026.9.5" }))
        await writeFile(join(pkg, "openclaw.mjs"), "")
      })
      yield* installOpenClaw(t.options(version))
      assert.lengthOf(yield* t.runs(), 1)
      assert.strictEqual(JSON.parse(yield* Effect.promise(() => readFile(join(pkg, "package.json"), "utf8"))).version, version)
    })
  )

  it.live("npm failing is NpmFailed with the end of its stderr, and leaves nothing behind", () =>
    Effect.gen(function* () {
      const t = yield* setup("fail")
      const error = failure(yield* Effect.exit(installOpenClaw(t.options(version))))
      assert.strictEqual(error.reason, "NpmFailed")
      assert.isTrue(error.isRetryable)
      assert.strictEqual(error.version, version)
      assert.include(error.detail, `npm error network aborted while fetching openclaw@${version}`)
      assert.isBelow(error.detail.length, 4200, "only the tail of a long stderr")
      assert.deepStrictEqual(yield* t.listing(), [], "no staging directory, no lock, no install")
    })
  )

  it.live("an npm that cannot be run is NpmFailed", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      const error = failure(yield* Effect.exit(installOpenClaw(t.options(version, { npm: join(t.root, "no-such-npm") }))))
      assert.strictEqual(error.reason, "NpmFailed")
      assert.include(error.detail, "could not run")
      assert.deepStrictEqual(yield* t.listing(), [])
    })
  )

  it.live("refuses what is not a pinned version before creating or running anything", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      for (const bad of ["latest", "../x", "1.0.0 --foo", "https://evil.example/openclaw.tgz", "2026.9.6 --registry=x", "", "^2026.9.6"]) {
        const error = failure(yield* Effect.exit(installOpenClaw(t.options(bad))))
        assert.strictEqual(error.reason, "InvalidVersion")
        assert.isFalse(error.isRetryable)
      }
      assert.lengthOf(yield* t.runs(), 0)
      assert.isFalse(existsSync(t.cacheDir))
    })
  )

  it.live("strings that are not versions never reach npm", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      const isVersion = Schema.is(OpenClawVersion)
      const near = fc
        .tuple(fc.constantFrom("2026.9.6", "2026.12.31-beta.1", "latest", "file:", "git+https://", "npm:evil@"), fc.string())
        .map(([a, b]) => a + b)
      const candidates = fc.oneof(fc.string(), fc.string({ unit: "binary" }), near).filter((s) => !isVersion(s))
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(candidates, async (candidate) => {
            const exit = await Effect.runPromiseExit(installOpenClaw(t.options(candidate)))
            return failure(exit).reason === "InvalidVersion"
          }),
          { numRuns: 300 }
        )
      )
      assert.lengthOf(yield* t.runs(), 0)
      assert.isFalse(existsSync(t.cacheDir))
    })
  )

  it.live("accepts a pre-release of a pinned version", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      const install = yield* installOpenClaw(t.options("2026.10.1-beta.2"))
      assert.strictEqual(install.dir, join(t.cacheDir, "2026.10.1-beta.2"))
      assert.isTrue(existsSync(install.entry))
    })
  )

  it.live("takes over a lock and a staging directory left by an installer that died", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      const lock = join(t.cacheDir, `${version}.lock`)
      const leftover = join(t.cacheDir, `${version}.tmp-1234-deadbeef`)
      const longAgo = new Date(Date.now() - 6 * 60_000)
      yield* Effect.promise(async () => {
        await mkdir(lock, { recursive: true })
        await utimes(lock, longAgo, longAgo)
        await mkdir(join(leftover, "node_modules"), { recursive: true })
      })
      yield* installOpenClaw(t.options(version))
      assert.lengthOf(yield* t.runs(), 1)
      assert.deepStrictEqual(yield* t.listing(), [version], "the lock is released and the leftover removed")
      assert.include(t.progress, `removing ${lock}: its installer stopped more than 5 minutes ago`)
    })
  )

  it.live("waits for a live lock rather than taking it", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      const lock = join(t.cacheDir, `${version}.lock`)
      yield* Effect.promise(() => mkdir(lock, { recursive: true }))
      const fiber = yield* Effect.forkChild(installOpenClaw(t.options(version)))
      yield* Effect.sleep("1200 millis")
      assert.lengthOf(yield* t.runs(), 0, "npm waits for the lock")
      assert.deepStrictEqual(t.progress, [`waiting for another install of openclaw@${version} to finish`])
      yield* Effect.promise(() => rm(lock, { recursive: true }))
      yield* Fiber.join(fiber)
      assert.lengthOf(yield* t.runs(), 1)
    })
  )

  it.live("interrupting stops npm and its scripts and removes the staging directory", () =>
    Effect.gen(function* () {
      const t = yield* setup("hang")
      const fiber = yield* Effect.forkChild(installOpenClaw(t.options(version)))
      yield* waitUntil(
        "npm has started",
        Effect.map(t.runs(), (runs) => runs.length === 1)
      )
      const [run] = yield* t.runs()
      assert.isTrue(isRunning(run!.pid) && isRunning(run!.script!))
      assert.isTrue((yield* t.listing()).some((name) => name.startsWith(`${version}.tmp-`)))

      yield* Fiber.interrupt(fiber)
      assert.isFalse(isRunning(run!.pid), "npm is stopped")
      yield* waitUntil(
        "the install script is stopped",
        Effect.sync(() => !isRunning(run!.script!))
      )
      assert.deepStrictEqual(yield* t.listing(), [], "no staging directory, no lock")
    })
  )

  it("the cache is $CLAWFLEET_OPENCLAW_CACHE, else under ~/.cache", () => {
    const saved = process.env.CLAWFLEET_OPENCLAW_CACHE
    try {
      process.env.CLAWFLEET_OPENCLAW_CACHE = "/srv/openclaw"
      assert.strictEqual(defaultOpenClawCache(), "/srv/openclaw")
      delete process.env.CLAWFLEET_OPENCLAW_CACHE
      assert.match(defaultOpenClawCache(), /[/\\]\.cache[/\\]clawfleet[/\\]openclaw$/)
    } finally {
      if (saved === undefined) delete process.env.CLAWFLEET_OPENCLAW_CACHE
      else process.env.CLAWFLEET_OPENCLAW_CACHE = saved
    }
  })
})
