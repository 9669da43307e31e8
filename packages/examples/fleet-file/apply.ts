import { readFile } from "node:fs/promises"
import { Clawfleet, withActor } from "@clawfleet/core"
import { applyFleetFile, applyFleetPlan, parseFleetFile, renderPlan } from "@clawfleet/core/fleet-file"
import { Effect } from "effect"

const usage = "usage: apply.ts <fleet.yaml> [--dry-run] [--pglite DIR]"

/**
 * Makes a store match a fleet file with `Fleet`, no server: parses the file (problems name their
 * line), prints the plan, applies it unless `--dry-run`, and prints what failed. The store is in
 * memory, or a PGlite database in `--pglite DIR` that lasts between runs. Resolves to the exit
 * code: 0 when everything landed, 1 when some changes failed, 2 for a bad file or usage.
 */
export const runApply = async (args: ReadonlyArray<string>, log: (line: string) => void = console.log): Promise<number> => {
  const pgliteAt = args.indexOf("--pglite")
  const dataDir = pgliteAt < 0 ? undefined : args[pgliteAt + 1]
  const rest = args.filter((a, i) => a !== "--dry-run" && (pgliteAt < 0 || (i !== pgliteAt && i !== pgliteAt + 1)))
  const path = rest[0]
  if (path === undefined || rest.length > 1 || (pgliteAt >= 0 && dataDir === undefined) || rest.some((a) => a.startsWith("--"))) {
    log(usage)
    return 2
  }
  let text: string
  try {
    text = await readFile(path, "utf8")
  } catch (e) {
    log(`cannot read ${path}: ${(e as Error).message}`)
    return 2
  }
  const dryRun = args.includes("--dry-run")
  const program = Effect.gen(function* () {
    const file = yield* parseFleetFile(text, path)
    // A dry run first, so the plan is on screen before anything changes.
    const { plan } = yield* applyFleetFile(file, { dryRun: true })
    for (const line of renderPlan(plan, "store")) log(line)
    if (dryRun || plan.changes.length === 0) return 0
    const result = yield* applyFleetPlan(plan)
    for (const f of result.failed) log(`failed: ${f}`)
    log(`Applied ${result.applied} of ${plan.changes.length} changes.`)
    return result.failed.length > 0 ? 1 : 0
  }).pipe(
    withActor("fleet-file"),
    Effect.catchTag("FleetFileError", (e) =>
      Effect.sync(() => {
        log(e.message)
        return 2
      })
    )
  )
  const layer = dataDir === undefined ? Clawfleet.layerMemory : Clawfleet.layerPglite({ dataDir })
  return Effect.runPromise(Effect.provide(program, layer))
}

if (import.meta.main) {
  process.exitCode = await runApply(process.argv.slice(2))
}
