import { Config, Effect } from "effect"
import { Command, Flag } from "effect/cli"
import type { OutputFormat } from "./Output.ts"
import { connect } from "./Remote.ts"

/** The `clawfleet` command itself, with the flags every subcommand shares. */
export const root = Command.make("clawfleet").pipe(
  Command.withSharedFlags({
    server: Flag.String("server").pipe(
      Flag.withDescription("The clawfleet server's URL (env CLAWFLEET_SERVER; else the one you logged in to)"),
      Flag.withFallbackConfig(Config.String("CLAWFLEET_SERVER")),
      Flag.optional
    ),
    token: Flag.String("token").pipe(
      Flag.withDescription("An API token, cft_… (env CLAWFLEET_TOKEN; else the one you logged in with)"),
      Flag.withFallbackConfig(Config.String("CLAWFLEET_TOKEN")),
      Flag.optional
    ),
    output: Flag.Literals("output", ["table", "json"]).pipe(
      Flag.withAlias("o"),
      Flag.withDescription("table for people, json for programs"),
      Flag.withDefault("table")
    )
  }),
  Command.withDescription("Run a clawfleet: people, teams and their OpenClaw assistants, through the server's API.")
)

/** The global flags and a connected client. */
export const remote = Effect.gen(function* () {
  const flags = yield* root
  return { ...(yield* connect(flags)), output: flags.output as OutputFormat }
})

/** The output format alone, for commands that need no server. */
export const outputFormat = Effect.map(root, (flags) => flags.output as OutputFormat)
