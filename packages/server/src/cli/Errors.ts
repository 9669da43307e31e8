import { Data } from "effect"

/**
 * The CLI's exit codes, for scripts: 0 ok, 1 failure (the server refused, or cannot be reached),
 * 2 usage (bad flags, a fleet file that does not parse or validate), 3 a plan with changes (only
 * with `plan --detailed-exitcode`). `dev` exits with its fleet's code. `grants explain` exits 0
 * whether the person may or may not use the resource: the command worked; the decision is its output.
 */
export const ExitCode = { ok: 0, failure: 1, usage: 2, changes: 3 } as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** The command could not do its work: the message says why, in words the user can act on. */
export class CliFailure extends Data.TaggedError("CliFailure")<{ readonly message: string }> {}

/** The user asked for something that cannot work as written (a flag, a fleet file). */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** `plan --detailed-exitcode` found changes: not a failure, a signal (exit 3). */
export class PlanHasChanges extends Data.TaggedError("PlanHasChanges")<{}> {}

/** A process the CLI ran (`dev`) ended with this code; the CLI exits with it. */
export class ExitWith extends Data.TaggedError("ExitWith")<{ readonly code: number }> {}
