import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { InstallOptionsError, installManifests, printManifests } from "../ops/installManifests.ts"
import { CliFailure, ExitWith, UsageError } from "./Errors.ts"

/** Commands that run here and need no server: `install --print` and `dev`. */

// --- install -------------------------------------------------------------------------------

export const install = Command.make(
  "install",
  {
    print: Flag.Boolean("print").pipe(
      Flag.withDescription("Print the manifests (for kubectl apply --server-side -f -); the only mode so far"),
      Flag.withDefault(false)
    ),
    namespace: Flag.String("namespace").pipe(
      Flag.withDescription("Where the server runs; created, Pod Security restricted"),
      Flag.withDefault("clawfleet")
    ),
    image: Flag.String("image").pipe(Flag.withDescription("The server's image, best pinned by digest")),
    replicas: Flag.Int("replicas").pipe(Flag.withDescription("Server replicas, at least 2"), Flag.withDefault(2)),
    publicUrl: Flag.String("public-url").pipe(Flag.withDescription("Where people reach the server, an https URL")),
    configSecret: Flag.String("config-secret").pipe(
      Flag.withDescription("The Secret holding config.json and key-encryption-key (upstream API keys in <name>-env)"),
      Flag.withDefault("clawfleet-config")
    )
  },
  Effect.fn(function* ({ print, namespace, image, replicas, publicUrl, configSecret }) {
    if (!print) {
      return yield* new UsageError({
        message: "install applies nothing itself yet: run clawfleet install --print … | kubectl apply --server-side -f -"
      })
    }
    const objects = yield* Effect.try({
      try: () => installManifests({ namespace, image, replicas, publicUrl, configSecretName: configSecret }),
      catch: (e) =>
        e instanceof InstallOptionsError
          ? new UsageError({ message: `cannot install clawfleet:\n  ${e.problems.map(flagOf).join("\n  ")}` })
          : new UsageError({ message: String(e) })
    })
    yield* Console.log(printManifests(objects).trimEnd())
  })
).pipe(
  Command.withDescription(
    "Print the Kubernetes manifests that install the clawfleet server (namespace, RBAC, Deployment, PodDisruptionBudget, Service, NetworkPolicy). No server needed."
  )
)

/** `replicas must be …` → `--replicas: replicas must be …`: name the flag that set it. */
const flagOf = (problem: string) => {
  const field = /^(\w+)/.exec(problem)?.[1]
  const flag = {
    namespace: "--namespace",
    image: "--image",
    replicas: "--replicas",
    publicUrl: "--public-url",
    configSecretName: "--config-secret"
  }[field ?? ""]
  return flag === undefined ? problem : `${flag}: ${problem}`
}

// --- dev -----------------------------------------------------------------------------------

/** The script `npm start` runs. */
export const DEV_SCRIPT = fileURLToPath(new URL("../bin/dev.ts", import.meta.url))

/**
 * Runs the development fleet in a child `node` (the script has top-level effects and handles its
 * own signals), with this terminal's stdio, and answers its exit code. Ctrl-C reaches the child
 * from the terminal; if this process is stopped some other way it passes SIGTERM on, and it
 * always waits for the child to stop.
 */
const runDevFleet: Effect.Effect<number> = Effect.callback<number>((resume) => {
  const child = spawn(process.execPath, ["--conditions=@clawfleet/source", DEV_SCRIPT], { stdio: "inherit" })
  let exited = false
  let sigintAt = 0
  const onSigint = () => {
    sigintAt = Date.now()
  }
  process.on("SIGINT", onSigint)
  const done = new Promise<number>((resolve) => {
    child.once("error", (e) => {
      exited = true
      console.error(`clawfleet dev: cannot start ${DEV_SCRIPT}: ${e.message}`)
      resolve(1)
    })
    child.once("exit", (code, signal) => {
      exited = true
      resolve(code ?? (signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 1))
    })
  }).finally(() => process.off("SIGINT", onSigint))
  void done.then((code) => resume(Effect.succeed(code)))
  return Effect.promise(() => {
    // The terminal sent SIGINT to the whole process group: a second signal would make dev.ts quit at once.
    if (!exited && Date.now() - sigintAt > 1000) child.kill("SIGTERM")
    return done
  })
})

export const dev = Command.make(
  "dev",
  {},
  Effect.fn(function* () {
    const code = yield* runDevFleet
    if (code !== 0) return yield* new ExitWith({ code })
  })
).pipe(
  Command.withDescription(
    "Run the development fleet on this machine (what npm start runs): control plane, demo sign-in, token and egress proxies, " +
      "tools, and the demo organisation's assistants. Settings by environment: CLAWFLEET_DATA_DIR (.clawfleet/dev), " +
      "CLAWFLEET_DEV_PORT (4100), OPENAI_API_KEY and OPENAI_BASE_URL for a real model, CLAWFLEET_DEV_MODEL, " +
      "CLAWFLEET_DEV_OPENCLAW. Exits with the fleet's exit code. No server or token needed."
  )
)

// --- start ---------------------------------------------------------------------------------

export const start = Command.make(
  "start",
  {
    config: Flag.String("config").pipe(Flag.withDescription("The server's configuration file (JSON; else CLAWFLEET_CONFIG)"), Flag.optional)
  },
  Effect.fn(function* ({ config }) {
    // Loaded here, not at the top: the other commands do not need the server's composition.
    const { runServer } = yield* Effect.promise(() => import("../Server.ts"))
    const { ServerConfigError } = yield* Effect.promise(() => import("../ops/ServerConfig.ts"))
    yield* runServer({ argv: Option.isSome(config) ? ["--config", config.value] : [], env: process.env }).pipe(
      Effect.mapError((e) =>
        e instanceof ServerConfigError
          ? new UsageError({ message: e.message })
          : new CliFailure({ message: `the server failed: ${e.message}` })
      )
    )
  })
).pipe(
  Command.withDescription(
    "Run the production clawfleet server until it is stopped (SIGINT or SIGTERM), logging JSON lines. " +
      "A configuration that does not validate exits 2 naming every problem, before anything starts. No token needed."
  )
)
