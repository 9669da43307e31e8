#!/usr/bin/env -S node --conditions=@clawfleet/source
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Effect, Exit } from "effect"
import { runCli } from "./Cli.ts"

/**
 * The `clawfleet` executable: the exit code is the command's (0 ok, 1 failure, 2 usage, 3 plan has
 * changes; `dev` its fleet's), 130 when stopped by a signal before it finished — except `start`,
 * which runs until it is stopped, so a graceful stop is its success (0), as supervisors expect.
 */
const args = process.argv.slice(2)
const interrupted = args.find((a) => !a.startsWith("-")) === "start" ? 0 : 130

NodeRuntime.runMain(runCli(args).pipe(Effect.provide(NodeServices.layer)), {
  disableErrorReporting: true,
  teardown: (exit, onExit) =>
    onExit(Exit.isSuccess(exit) ? (typeof exit.value === "number" ? exit.value : 1) : Cause.hasInterruptsOnly(exit.cause) ? interrupted : 1)
})
