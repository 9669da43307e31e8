import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeFixture } from "../../server/test/api/support.ts"
import { ALL_SCOPES, cli } from "../../server/test/cli/support.ts"
import { allGuideCommands, fencedBlocks, normalize, repoRoot, runCommand, shellWords } from "./support/guideCommands.ts"

/**
 * Every shell command in the README and docs/ must be accounted for: (a) run here as the guide
 * says, with its placeholders filled in; (b) run by a named test, which must still contain it;
 * or (c) not runnable here, for a written reason, and checked as far as it can be.
 */

interface Session {
  /** A scratch directory holding the files the guides create (fleet.yaml, hr.csv). */
  readonly dir: string
  /** An in-process clawfleet API on loopback, standing in for https://clawfleet.example.com. */
  readonly origin: string
  readonly token: string
}

type Entry =
  | {
      /**
       * (a) Run here, as a process through `sh scripts/run`, or with `inProcess` as the `clawfleet`
       * CLI's own command tree in this process (the CLI's entry points each run as a process below).
       * `server` points it at the in-process API; `cwd` "scratch" runs it in the scratch directory.
       */
      readonly run: {
        readonly server?: true
        readonly inProcess?: true
        readonly cwd?: "scratch"
        readonly before?: (cwd: string) => void
        readonly after?: (cwd: string) => void
        readonly expect: ReadonlyArray<RegExp>
        /** Run once more: what the guide promises of a second run. */
        readonly again?: RegExp
      }
    }
  /** (b) The first file is the test that runs it; each file must contain every string listed after it. */
  | { readonly coveredBy: ReadonlyArray<readonly [file: string, ...needles: ReadonlyArray<string>]> }
  /** (c) Why it cannot run here, and what is checked instead. */
  | { readonly notHere: string; readonly check: (s: Session) => Promise<void> }

const source = (file: string) => readFileSync(join(repoRoot, file), "utf8")
const packageJson = (file: string) => JSON.parse(source(file)) as Record<string, Record<string, string>>
/** The subcommands getting-started.md names, as `--help` lists them. */
const CLI_COMMANDS = ["login", "plan", "apply", "tenants", "people", "grants", "usage", "audit", "install", "start", "dev"].map(
  (name) => new RegExp(`^ {2}${name} `, "m")
)

const TABLE: Record<string, Entry> = {
  "npm test": {
    coveredBy: [
      [".ci/run", "npm test"],
      ["package.json", '"test": "sh scripts/run vitest run"']
    ]
  },
  "npm start": {
    coveredBy: [
      ["packages/server/test/DevStart.browser.test.ts", "startDev(env)", "clawfleet dev is ready", "open Ada's assistant"],
      ["packages/server/test/support/devProcess.ts", "packages/server/src/bin/dev.ts"],
      ["package.json", "packages/server/src/bin/dev.ts"]
    ]
  },
  "git clone <the clawfleet repository URL> clawfleet": {
    notHere: "the repository's URL is the reader's and cloning needs the network; every later command runs in this checkout",
    check: async () => {
      const scripts = packageJson("package.json").scripts!
      assert.containsAllKeys(scripts, ["test", "start", "clawfleet"])
      assert.isTrue(existsSync(join(repoRoot, "scripts/run")))
    }
  },
  "cd clawfleet": {
    notHere: "enters the clone; the test runs from the repository root, which is that directory",
    check: async () => assert.strictEqual(packageJson("package.json").name as unknown, "clawfleet")
  },
  "OPENAI_API_KEY=sk-... npm start": {
    notHere: "needs a real OpenAI key and the network; npm start itself is covered by DevStart.browser.test.ts",
    check: async () => {
      const dev = source("packages/server/src/bin/dev.ts")
      for (const needle of ["env.OPENAI_API_KEY", "env.OPENAI_BASE_URL", '"https://api.openai.com/v1"', '"gpt-4.1-mini"']) {
        assert.include(dev, needle)
      }
    }
  },
  "rm -rf .clawfleet/dev": {
    run: {
      cwd: "scratch",
      before: (cwd) => mkdirSync(join(cwd, ".clawfleet/dev/db"), { recursive: true }),
      after: (cwd) => {
        assert.isFalse(existsSync(join(cwd, ".clawfleet/dev")))
        assert.include(source("packages/server/src/bin/dev.ts"), '".clawfleet/dev"', "the dev fleet's default data directory")
      },
      expect: []
    }
  },
  "npm run clawfleet -- <command>": { run: { expect: CLI_COMMANDS } },
  "npm run clawfleet -- login --server https://clawfleet.example.com --token cft_...": {
    run: { server: true, inProcess: true, expect: [/Logged in to http:\/\/127\.0\.0\.1:\d+ as root \(org-admin\)/] }
  },
  "npm run clawfleet -- plan -f fleet.yaml": { run: { inProcess: true, expect: [/^\+ person ada/m] } },
  "npm run clawfleet -- apply -f fleet.yaml": {
    run: { inProcess: true, expect: [/Applied (\d+) of \1 changes\./], again: /No changes/ }
  },
  "npm run clawfleet -- grants explain --person ada --kind model --name gpt-4.1": {
    run: { inProcess: true, expect: [/ada MAY use model gpt-4\.1: allowed/] }
  },
  "npm run clawfleet -- audit verify": { run: { inProcess: true, expect: [/The audit log verifies: \d+ events/] } },
  "sh scripts/run node --conditions=@clawfleet/source packages/examples/bulk-onboard/main.ts hr.csv --dry-run": {
    run: { expect: [/^plan: .*2 people/m, /\+ person ada/, /\+ person hal/] }
  },
  "sh scripts/run node --conditions=@clawfleet/source packages/examples/bulk-onboard/main.ts hr.csv --pglite ./fleet-db": {
    notHere:
      "a fresh PGlite takes 15-50 s to open, too slow here; the same file runs with --dry-run above and PGlite is covered by the Store tests",
    check: async () => {
      assert.include(source("packages/examples/bulk-onboard/main.ts"), "--pglite DIR")
      assert.include(source("packages/examples/bulk-onboard/main.ts"), "Clawfleet.layerPglite({ dataDir })")
    }
  },
  "sh scripts/run node --conditions=@clawfleet/source packages/examples/bulk-onboard/bench.ts --store memory": {
    notHere: "a benchmark of 5,000 people that takes minutes; `npm run bench` runs it. Here the same command runs with 40 people",
    check: async () => {
      const r = await runCommand(
        "node --conditions=@clawfleet/source packages/examples/bulk-onboard/bench.ts --store memory --people 40 --concurrency 4"
      )
      assert.strictEqual(r.code, 0, r.stderr)
      for (const line of [/^plan \(empty\): .*target ≤ 2 s/m, /^apply: .*0 failed/m, /^plan \(rerun\): .*\(0 changes\)/m, /^peak RSS: /m]) {
        assert.match(r.stdout, line)
      }
      assert.include(packageJson("packages/examples/package.json").scripts!.bench, "bulk-onboard/bench.ts --store memory")
    }
  },
  "sh scripts/run node --conditions=@clawfleet/source packages/examples/bulk-onboard/bench.ts --store pg --pg-url postgres://...": {
    notHere: "needs a PostgreSQL server, which `npm test` does not; `npm run bench` runs it against CLAWFLEET_BENCH_PG_URL",
    check: async () => {
      assert.include(packageJson("packages/examples/package.json").scripts!.bench, "bulk-onboard/bench.ts --store pg")
      assert.include(source("packages/examples/bulk-onboard/bench.ts"), '"pg-url": { type: "string" }')
    }
  },
  "clawfleet login --server https://clawfleet.example.com --token cft_...": {
    run: { server: true, inProcess: true, expect: [/Logged in to http:\/\/127\.0\.0\.1:\d+ as root/] }
  },
  "clawfleet plan -f fleet.yaml": { run: { inProcess: true, expect: [/^\+ person ada/m] } },
  "clawfleet apply -f fleet.yaml": { run: { inProcess: true, expect: [/Applied (\d+) of \1 changes\./], again: /No changes/ } },
  "clawfleet start --config clawfleet.json": {
    notHere: "runs a production server until stopped, with a real OpenID provider and key-encryption key",
    // An empty configuration: the command and its flag parse, it reads the file, and it names every missing setting.
    check: async (s) => {
      const r = await Effect.runPromise(inProcess(fillIn("clawfleet start --config clawfleet.json", s, false), {}))
      assert.strictEqual(r.code, 2, r.stderr)
      for (const setting of ["publicUrl", "oidc", "keyEncryptionKey"]) assert.include(r.stderr, setting)
    }
  },
  "clawfleet install --print --image ghcr.io/example/clawfleet:1 --public-url https://clawfleet.example.com": {
    run: { expect: [/^kind: Deployment$/m, /image: ghcr\.io\/example\/clawfleet:1/, /^kind: PodDisruptionBudget$/m] }
  },
  "npm install @clawfleet/core effect": {
    notHere: "installs from the npm registry",
    check: async () => {
      const core = packageJson("packages/core/package.json")
      assert.strictEqual(core.name as unknown, "@clawfleet/core")
      assert.notStrictEqual(core.private as unknown, true)
      assert.property(core.peerDependencies, "effect")
    }
  },
  "npm install @effect/sql-pg @electric-sql/pglite @electric-sql/pglite-socket": {
    notHere: "installs from the npm registry",
    check: async () => {
      const core = packageJson("packages/core/package.json")
      for (const name of ["@effect/sql-pg", "@electric-sql/pglite", "@electric-sql/pglite-socket"]) {
        assert.property(core.peerDependencies, name)
      }
    }
  },
  "PORTAL_ADMINS=grace@example.com sh scripts/run node --conditions=@clawfleet/source packages/examples/embed-portal/portal.ts": {
    coveredBy: [
      ["packages/examples/test/embed-portal.test.ts", "startPortal("],
      ["packages/examples/embed-portal/portal.ts", "PORTAL_ADMINS", "storeFromEnv()", "3000"]
    ]
  },
  'curl -X POST localhost:3000/admin/assistants -H \'x-portal-user: grace@example.com\' -H \'content-type: application/json\' -d \'{"email":"ada@example.com","displayName":"Ada Lovelace"}\'':
    { coveredBy: [["packages/examples/test/embed-portal.test.ts", 'call("POST", "/admin/assistants"', "x-portal-user"]] },
  "curl localhost:3000/me/assistant -H 'x-portal-user: ada@example.com'": {
    coveredBy: [["packages/examples/test/embed-portal.test.ts", 'call("GET", "/me/assistant"']]
  }
}

const entries = new Map(Object.entries(TABLE).map(([command, entry]) => [normalize(command), entry]))
const commands = allGuideCommands()
const where = (c: { file: string; line: number; command: string }) => `${c.file}:${c.line}: ${c.command}`

/** The command with the guide's placeholders filled in and its files in the scratch directory. */
const fillIn = (command: string, s: Session, server: boolean) =>
  command
    .replaceAll("<command>", "--help")
    .replaceAll("cft_...", s.token)
    .replaceAll("https://clawfleet.example.com", server ? s.origin : "https://clawfleet.example.com")
    .replace(/(?<=\s)(fleet\.yaml|hr\.csv|clawfleet\.json)(?=\s|$)/g, (file) => join(s.dir, file))

/** `npm run clawfleet -- …` or `clawfleet …` run by the CLI's command tree in this process. */
const inProcess = (command: string, env: Record<string, string>) => {
  const [, rest] = /^(?:npm run clawfleet --|clawfleet)\s+(.*)$/.exec(command) ?? []
  assert.isDefined(rest, `${command} is not a clawfleet command`)
  return cli(shellWords(rest!), env)
}

/** The files the guides have a reader create, taken from the guides themselves. */
const writeGuideFiles = (dir: string) => {
  const [fleet] = fencedBlocks("docs/bulk-onboarding.md", "yaml")
  const [csv] = fencedBlocks("docs/bulk-onboarding.md", "csv")
  assert.isDefined(fleet, "docs/bulk-onboarding.md no longer shows a fleet.yaml")
  assert.isDefined(csv, "docs/bulk-onboarding.md no longer shows an hr.csv")
  writeFileSync(join(dir, "fleet.yaml"), fleet!)
  writeFileSync(join(dir, "hr.csv"), csv!)
  writeFileSync(join(dir, "clawfleet.json"), "{}\n")
  mkdirSync(join(dir, "scratch"))
}

/** A scratch directory and an in-process API with an org admin's token, for the life of one test. */
const session = Effect.gen(function* () {
  const dir = yield* Effect.acquireRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "clawfleet-guides-"))),
    (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
  )
  writeGuideFiles(dir)
  const f = yield* makeFixture({ catalog: true })
  return { dir, origin: f.origin, token: yield* f.token("root", ALL_SCOPES) } satisfies Session
})

describe("the guides' shell commands", () => {
  it("are found in the README and in docs/", () => {
    const files = new Set(commands.map((c) => c.file))
    for (const file of ["README.md", "docs/getting-started.md"]) assert.isTrue(files.has(file), `no commands found in ${file}`)
  })

  it("are each run here, covered by a named test, or not runnable here for a written reason", () => {
    const missing = commands.filter((c) => !entries.has(c.command)).map(where)
    assert.deepStrictEqual(missing, [], `account for these in packages/examples/test/guides.test.ts:\n${missing.join("\n")}`)
  })

  it("has no entry for a command no guide shows any more", () => {
    const shown = new Set(commands.map((c) => c.command))
    assert.deepStrictEqual(
      [...entries.keys()].filter((command) => !shown.has(command)),
      []
    )
  })

  it("(b) names tests that exist and still run what the guide says", () => {
    for (const [command, entry] of entries) {
      if (!("coveredBy" in entry)) continue
      for (const [file, ...needles] of entry.coveredBy) {
        assert.isTrue(existsSync(join(repoRoot, file)), `${command}: ${file} does not exist`)
        for (const needle of needles) assert.include(source(file), needle, `${command}: ${file}`)
      }
    }
  })

  it.live("(c) give a reason and pass their checks", () =>
    Effect.gen(function* () {
      const s = yield* session
      for (const [command, entry] of entries) {
        if (!("notHere" in entry)) continue
        assert.isAbove(entry.notHere.length, 20, `${command}: say why it cannot run here`)
        yield* Effect.promise(() => entry.check(s))
      }
    }).pipe(Effect.scoped)
  )

  // One session per guide, its commands in the guide's order: plan and apply follow login as they do for a reader.
  const byGuide = Map.groupBy(
    commands.filter((c) => {
      const entry = entries.get(c.command)
      return entry !== undefined && "run" in entry
    }),
    (c) => c.file
  )
  describe.concurrent("(a) run here", () => {
    for (const [file, runnable] of byGuide) {
      it.live(
        `${file}: ${runnable.length} commands`,
        () =>
          Effect.gen(function* () {
            const s = yield* session
            const env = { XDG_CONFIG_HOME: join(s.dir, "config") }
            for (const c of runnable) {
              const { run } = entries.get(c.command) as Extract<Entry, { run: unknown }>
              const cwd = run.cwd === "scratch" ? join(s.dir, "scratch") : repoRoot
              run.before?.(cwd)
              const command = fillIn(c.command, s, run.server === true)
              const runIt = () => (run.inProcess ? inProcess(command, env) : Effect.promise(() => runCommand(command, { cwd, env })))
              const r = yield* runIt()
              const output = `${r.stdout}\n${r.stderr}`
              assert.strictEqual(r.code, 0, `${where(c)} exited ${r.code}:\n${output}`)
              for (const pattern of run.expect) assert.match(output, pattern, where(c))
              run.after?.(cwd)
              if (run.again !== undefined) {
                const second = yield* runIt()
                assert.match(`${second.stdout}\n${second.stderr}`, run.again, `${where(c)}, run again`)
              }
            }
          }).pipe(Effect.scoped),
        120_000
      )
    }
  })
})
