import type { ServerResponse } from "node:http"

/** Server-sent events and the timing of a streamed reply. */

export interface SseEvent {
  /** The `event:` line; OpenAI chat completions send none. */
  readonly event?: string
  /** Serialized as JSON unless it is a string (as `[DONE]` is). */
  readonly data: unknown
  /** Whether this event carries a chunk of the reply text. */
  readonly text?: boolean
}

export const encodeEvent = (e: SseEvent): string =>
  `${e.event === undefined ? "" : `event: ${e.event}\n`}data: ${typeof e.data === "string" ? e.data : JSON.stringify(e.data)}\n\n`

/** Resolves after `ms`, or at once when `signal` aborts (the server is closing). */
export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener("abort", done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener("abort", done)
  })

/** Writes and waits until the data has left for the socket, so that a destroy right after cannot discard it. */
export const writeFlushed = (res: ServerResponse, data: string | Buffer): Promise<void> =>
  new Promise((resolve) => {
    if (res.destroyed) return resolve()
    res.write(data, () => resolve())
  })

/**
 * How many events go out before a dropped stream is cut: all those up to the `afterChunks`-th text
 * event, or, when the reply has fewer text events, all but its closing events.
 */
export const cutIndex = (events: ReadonlyArray<SseEvent>, afterChunks: number): number => {
  const textAt = events.flatMap((e, i) => (e.text === true ? [i] : []))
  const next = textAt[afterChunks]
  if (next !== undefined) return next
  const last = textAt.at(-1)
  return last === undefined ? Math.max(events.length - 1, 0) : last + 1
}

export interface StreamOptions {
  readonly chunkDelayMs: number
  /** Destroy the connection after this many text events instead of finishing. */
  readonly dropAfterChunks: number | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly signal: AbortSignal
}

export const writeStream = async (res: ServerResponse, events: ReadonlyArray<SseEvent>, options: StreamOptions): Promise<void> => {
  res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache", ...options.headers })
  res.flushHeaders()
  const stop = options.dropAfterChunks === undefined ? events.length : cutIndex(events, options.dropAfterChunks)
  for (let i = 0; i < stop; i++) {
    const e = events[i]
    if (e === undefined) break
    if (i > 0) await sleep(options.chunkDelayMs, options.signal)
    if (res.destroyed || options.signal.aborted) return
    await writeFlushed(res, encodeEvent(e))
  }
  if (stop < events.length) res.destroy()
  else res.end()
}
