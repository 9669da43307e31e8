import { Effect, Fiber, type Scope } from "effect"
import { type Child, type ChildExit, type Launch, startChild } from "./internal/child.ts"
import { probeReady } from "./internal/readiness.ts"

export interface SupervisorTiming {
  /** How long a gateway has after SIGTERM before its process group gets SIGKILL. */
  readonly stopTimeoutMs: number
  readonly readyIntervalMs: number
  readonly readyTimeoutMs: number
  /** The first restart after a crash waits this long; each further crash in a row doubles it. */
  readonly initialDelayMs: number
  readonly maxDelayMs: number
  /** A gateway that ran this long before it crashed counts as a first crash again. */
  readonly stableAfterMs: number
}

export interface SupervisorOptions {
  /**
   * Prepares one start: the program to run and the port it will serve. Run again before every
   * restart, so a restart sees the current token and a port that is still free. Fails with a
   * reason in words, which counts as a crash.
   */
  readonly prepare: Effect.Effect<{ readonly launch: Launch; readonly port: number }, string>
  readonly readyPath: string
  readonly timing: SupervisorTiming
}

/**
 * Starting: not yet ready since it was started. Unready: was ready, and no longer says so.
 * BackOff: it ended and waits to be started again. Stopped: stopped on purpose.
 */
export type Phase = "Starting" | "Ready" | "Unready" | "BackOff" | "Stopping" | "Stopped"

export interface Ended extends ChildExit {
  readonly at: Date
  readonly uptimeMs: number
}

export interface ProcessStatus {
  readonly phase: Phase
  /** The gateway's pid while one runs. */
  readonly pid?: number | undefined
  readonly port?: number | undefined
  /** Starts after the first: crashes recovered from. */
  readonly restarts: number
  /** Crashes in a row; what the backoff grows with. */
  readonly failures: number
  readonly lastExit?: Ended | undefined
  readonly retryAt?: Date | undefined
  /** The last readiness answer, or what went wrong, in words. */
  readonly detail: string
}

export interface Supervisor {
  readonly status: () => ProcessStatus
  /** Stops the gateway gracefully and supervises no more. Idempotent. */
  readonly stop: Effect.Effect<void>
}

/** The wait before restart number `failures` in a row: doubling from the initial delay, capped. */
export const backoffDelay = (failures: number, timing: Pick<SupervisorTiming, "initialDelayMs" | "maxDelayMs">) =>
  Math.min(timing.maxDelayMs, timing.initialDelayMs * 2 ** Math.max(0, failures - 1))

/** How a gateway ended, as words for a condition message. */
export const describeExit = (ended: ChildExit) =>
  ended.error !== undefined
    ? `could not start: ${ended.error}`
    : ended.signal !== null
      ? `was killed by ${ended.signal}`
      : `exited with code ${ended.code ?? "unknown"}`

const waitOrTimeout = (promise: Promise<unknown>, ms: number) =>
  new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    void promise.then(() => {
      clearTimeout(timer)
      resolve(true)
    })
  })

/**
 * Keeps one gateway running in `scope`: starts it, polls its readiness, restarts it with backoff
 * when it ends, and stops it gracefully — SIGTERM to its process group, SIGKILL after the stop
 * timeout — when stopped or when the scope closes.
 */
export const supervise = Effect.fnUntraced(function* (options: SupervisorOptions, scope: Scope.Scope) {
  const { timing } = options
  let status: ProcessStatus = { phase: "Starting", restarts: 0, failures: 0, detail: "starting" }
  let current: Child | undefined
  const set = (patch: Partial<ProcessStatus>) => {
    status = { ...status, ...patch }
  }

  const probe = (port: number) =>
    Effect.gen(function* () {
      while (true) {
        const answer = yield* Effect.promise((signal) => probeReady(port, options.readyPath, timing.readyTimeoutMs, signal))
        if (status.phase === "Starting" || status.phase === "Ready" || status.phase === "Unready") {
          const phase = answer.ready ? "Ready" : status.phase === "Starting" ? "Starting" : "Unready"
          set({ phase, detail: answer.detail })
        }
        yield* Effect.sleep(timing.readyIntervalMs)
      }
    })

  const stopChild = (child: Child) =>
    Effect.promise(async () => {
      if (child.hasExited()) return
      set({ phase: "Stopping", detail: "SIGTERM sent" })
      child.signal("SIGTERM")
      if (!(await waitOrTimeout(child.exited, timing.stopTimeoutMs))) {
        set({ detail: `still running ${timing.stopTimeoutMs} ms after SIGTERM: SIGKILL sent` })
        child.signal("SIGKILL")
        await child.exited
      }
    })

  const runOnce = Effect.gen(function* () {
    const startedAt = Date.now()
    const ended = (exit: ChildExit): Ended => ({ ...exit, at: new Date(), uptimeMs: Date.now() - startedAt })
    return yield* options.prepare.pipe(
      Effect.matchEffect({
        onFailure: (problem) => Effect.succeed(ended({ code: null, signal: null, error: problem, stderr: [] })),
        onSuccess: ({ launch, port }) =>
          Effect.acquireUseRelease(
            Effect.sync(() => {
              set({ phase: "Starting", port, retryAt: undefined, detail: "started, waiting for readiness" })
              return (current = startChild(launch, timing.stopTimeoutMs))
            }),
            (child) =>
              Effect.raceFirst(
                Effect.promise(() => child.exited),
                probe(port)
              ),
            (child) => stopChild(child)
          ).pipe(Effect.map(ended))
      })
    )
  })

  const loop = Effect.gen(function* () {
    while (true) {
      const ended = yield* runOnce
      const failures = ended.uptimeMs >= timing.stableAfterMs ? 1 : status.failures + 1
      const delay = backoffDelay(failures, timing)
      set({
        phase: "BackOff",
        failures,
        restarts: status.restarts + 1,
        lastExit: ended,
        retryAt: new Date(Date.now() + delay),
        detail: `the gateway ${describeExit(ended)}; restarting in ${delay} ms`
      })
      yield* Effect.sleep(delay)
    }
  })

  const fiber = yield* Effect.forkIn(loop, scope)
  return {
    status: () => {
      const child = current
      const running = child !== undefined && !child.hasExited()
      return { ...status, pid: running ? (child.gatewayPid() ?? child.groupId) : undefined }
    },
    stop: Effect.andThen(
      Fiber.interrupt(fiber),
      Effect.sync(() => set({ phase: "Stopped", retryAt: undefined, detail: "stopped" }))
    )
  } satisfies Supervisor
})
