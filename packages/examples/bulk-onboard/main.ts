import { readFile } from "node:fs/promises"
import { Clawfleet } from "@clawfleet/core"
import { Effect } from "effect"
import { apply, type Change, plan } from "./bulkOnboard.ts"

const usage = "usage: main.ts <hr-export.csv> [--prune] [--dry-run] [--no-create-org] [--concurrency N] [--pglite DIR]"

const show = (c: Change): string => {
  switch (c.action) {
    case "create":
      return `+ ${c.kind} ${c.id}`
    case "update":
      return `~ person ${c.id}: ${Object.keys(c.patch).join(", ")}`
    case "offboard":
      return `- person ${c.id} (offboard)`
  }
}

/**
 * The CLI, as a function: plans the file against the store, prints bad rows and the plan, applies
 * it (unless `--dry-run`) and prints failures. Resolves to the exit code: 0 when every row landed,
 * 1 when some rows were bad or some changes failed, 2 for a usage error or an unreadable file.
 */
export const runCli = async (args: ReadonlyArray<string>, log: (line: string) => void = console.log): Promise<number> => {
  const flags = new Set(args.filter((a) => a.startsWith("--")))
  const flagValue = (flag: string) => {
    const i = args.indexOf(flag)
    return i < 0 ? undefined : args[i + 1]
  }
  const path = args.find((a, i) => !a.startsWith("--") && !["--concurrency", "--pglite"].includes(args[i - 1] ?? ""))
  const concurrency = Number(flagValue("--concurrency") ?? 16)
  if (path === undefined || !Number.isInteger(concurrency) || concurrency < 1) {
    log(usage)
    return 2
  }
  let csv: string
  try {
    csv = await readFile(path, "utf8")
  } catch (e) {
    log(`cannot read ${path}: ${(e as Error).message}`)
    return 2
  }
  const dataDir = flagValue("--pglite")
  const layer = dataDir === undefined ? Clawfleet.layerMemory : Clawfleet.layerPglite({ dataDir })
  const program = Effect.gen(function* () {
    const p = yield* plan(csv, { prune: flags.has("--prune"), createOrg: !flags.has("--no-create-org") })
    if (p.fatal !== undefined) {
      log(p.fatal)
      return 2
    }
    for (const b of p.bad) log(`line ${b.line}${b.id !== undefined ? ` (${b.id})` : ""}: ${b.reasons.join("; ")}`)
    const c = p.counts
    log(
      `plan: ${c.departments} departments, ${c.teams} teams, ${c.people} people, ${c.tenants} tenants to create; ` +
        `${c.updates} people to update; ${c.offboards} to offboard; ${p.bad.length} bad rows`
    )
    if (p.changes.length <= 50) for (const change of p.changes) log(`  ${show(change)}`)
    if (flags.has("--dry-run") || p.changes.length === 0) return p.bad.length > 0 ? 1 : 0
    let last = 0
    const report = yield* apply(p, {
      concurrency,
      onProgress: ({ done, total }) => {
        const pct = Math.floor((done * 10) / total)
        if (pct > last || done === total) {
          last = pct
          log(`  ${done}/${total}`)
        }
      }
    })
    for (const f of report.failures) log(`failed: ${show(f.change)}: ${f.reason}`)
    log(`applied ${report.applied}, failed ${report.failures.length}`)
    return p.bad.length > 0 || report.failures.length > 0 ? 1 : 0
  })
  return Effect.runPromise(Effect.provide(program, layer))
}

if (import.meta.main) {
  process.exitCode = await runCli(process.argv.slice(2))
}
