import { mkdtemp, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { NodeServices } from "@effect/platform-node"
import { ConfigProvider, Console, Effect } from "effect"
import { runCli } from "../../src/cli/Cli.ts"

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const format = (args: ReadonlyArray<unknown>) => args.map((a) => (typeof a === "string" ? a : String(a))).join(" ")

/**
 * Runs `clawfleet argv…` in this process: the real command tree and handlers, with stdout and
 * stderr captured and the environment replaced by `env` (nothing leaks in from the machine's).
 */
export const cli = (argv: ReadonlyArray<string>, env: Record<string, string> = {}): Effect.Effect<CliResult> => {
  const out: Array<string> = []
  const err: Array<string> = []
  const console: Console.Console = {
    ...globalThis.console,
    log: (...a: ReadonlyArray<unknown>) => out.push(format(a)),
    info: (...a: ReadonlyArray<unknown>) => out.push(format(a)),
    error: (...a: ReadonlyArray<unknown>) => err.push(format(a)),
    warn: (...a: ReadonlyArray<unknown>) => err.push(format(a))
  }
  return runCli(argv).pipe(
    Effect.provideService(Console.Console, console),
    Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env))),
    Effect.provide(NodeServices.layer),
    Effect.map((code) => ({ code, stdout: out.join("\n"), stderr: err.join("\n") }))
  )
}

/** A fresh temporary directory. */
export const tempDir = Effect.promise(() => mkdtemp(path.join(tmpdir(), "clawfleet-cli-")))

export const writeText = (file: string, text: string) => Effect.promise(() => writeFile(file, text))

export const ALL_SCOPES = [
  "people:read",
  "people:write",
  "org:read",
  "org:write",
  "tenants:read",
  "tenants:write",
  "grants:read",
  "grants:write",
  "usage:read",
  "audit:read"
]

/** `count` people over `teams` teams over `departments` departments, each with an assistant. */
export const generateFleet = (options: {
  readonly departments: number
  readonly teams: number
  readonly people: number
  readonly version: string
  /** Per-person overrides by index. */
  readonly team?: (i: number) => string | undefined
  readonly personVersion?: (i: number) => string | undefined
}) => {
  const pad = (n: number) => String(n).padStart(3, "0")
  const lines = ["defaults:", "  tenant:", `    openclaw: { version: "${options.version}" }`, "    resources: { cpu: 500m, memory: 1Gi }"]
  lines.push("departments:")
  for (let d = 0; d < options.departments; d++) lines.push(`  - { id: dept-${pad(d)}, displayName: Department ${d} }`)
  lines.push("teams:")
  for (let t = 0; t < options.teams; t++) {
    lines.push(`  - { id: team-${pad(t)}, displayName: Team ${t}, department: dept-${pad(t % options.departments)} }`)
  }
  lines.push("people:")
  for (let i = 0; i < options.people; i++) {
    const team = options.team?.(i) ?? `team-${pad(i % options.teams)}`
    lines.push(`  - id: person-${pad(i)}`, `    email: person-${pad(i)}@example.com`, `    displayName: Person ${i}`, `    team: ${team}`)
    const version = options.personVersion?.(i)
    if (version !== undefined) lines.push(`    tenant: { openclaw: { version: "${version}" } }`)
  }
  return `${lines.join("\n")}\n`
}
