import { type FleetFile, type FleetFileError, parseFleetFile } from "@clawfleet/core/fleet-file"
import { Effect } from "effect"
import { UsageError } from "./Errors.ts"

/**
 * The fleet file of `clawfleet plan|apply -f`: its schema, parser and planner are core's
 * (`@clawfleet/core/fleet-file`), shared with programs that apply it through `Fleet`.
 */
export type { FleetFile } from "@clawfleet/core/fleet-file"

/** A fleet file's problems, each naming its line, as a usage error (exit code 2). */
export const asUsageError = (e: FleetFileError) => new UsageError({ message: e.message })

/** Parses and validates a fleet file's text; every problem is a `UsageError` naming its line. */
export const parseFleet = (text: string, name: string): Effect.Effect<FleetFile, UsageError> =>
  parseFleetFile(text, name).pipe(Effect.mapError(asUsageError))
