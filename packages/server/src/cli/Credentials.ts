import { chmod, mkdir, readFile, writeFile } from "node:fs/promises"
import * as path from "node:path"
import { Config, Effect, Option, Schema } from "effect"
import { CliFailure } from "./Errors.ts"

/** What `clawfleet login` remembers: one server and its API token. */
export const SavedCredentials = Schema.Struct({ server: Schema.String, token: Schema.String })
export type SavedCredentials = typeof SavedCredentials.Type

/** `$XDG_CONFIG_HOME/clawfleet/credentials.json`, or `~/.config/clawfleet/credentials.json`. */
export const credentialsPath: Effect.Effect<string, CliFailure> = Effect.gen(function* () {
  const xdg = yield* Config.option(Config.String("XDG_CONFIG_HOME"))
  const home = yield* Config.option(Config.String("HOME"))
  const base = Option.isSome(xdg) && xdg.value !== "" ? xdg.value : Option.isSome(home) ? path.join(home.value, ".config") : undefined
  if (base === undefined) return yield* new CliFailure({ message: "cannot find a config directory: set XDG_CONFIG_HOME or HOME" })
  return path.join(base, "clawfleet", "credentials.json")
}).pipe(Effect.catchTag("ConfigError", () => Effect.fail(new CliFailure({ message: "cannot read XDG_CONFIG_HOME or HOME" }))))

/** The saved credentials, or none when nobody logged in; a broken file is a failure, not silence. */
export const loadCredentials: Effect.Effect<Option.Option<SavedCredentials>, CliFailure> = Effect.gen(function* () {
  const file = yield* credentialsPath
  const text = yield* Effect.tryPromise(() => readFile(file, "utf8")).pipe(
    Effect.map(Option.some),
    Effect.catch((e) =>
      (e.cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT"
        ? Effect.succeed(Option.none<string>())
        : Effect.fail(new CliFailure({ message: `cannot read ${file}: ${String(e.cause)}` }))
    )
  )
  if (Option.isNone(text)) return Option.none()
  return yield* Effect.try(() => JSON.parse(text.value) as unknown).pipe(
    Effect.flatMap(Schema.decodeUnknownEffect(SavedCredentials)),
    Effect.map(Option.some),
    Effect.mapError(() => new CliFailure({ message: `${file} is not a credentials file; run clawfleet login again` }))
  )
})

/** Writes the credentials readable by the user alone (0600, in a 0700 directory). */
export const saveCredentials = (credentials: SavedCredentials): Effect.Effect<string, CliFailure> =>
  Effect.gen(function* () {
    const file = yield* credentialsPath
    yield* Effect.tryPromise(async () => {
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
      await writeFile(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 })
      // `mode` only applies when the file is created: tighten a file that was already there.
      await chmod(file, 0o600)
    }).pipe(Effect.mapError((e) => new CliFailure({ message: `cannot write ${file}: ${String(e.cause)}` })))
    return file
  })
