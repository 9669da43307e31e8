import { Effect, Queue, Scope } from "effect"

/**
 * A keyed work queue in the manner of client-go's: a key is queued at most once; a key added
 * while it is being worked on is marked dirty and queued again when that work is done, so the
 * latest state is always processed and no key is ever worked on by two workers of one process.
 */
export interface WorkQueue {
  readonly add: (key: string) => Effect.Effect<void>
  /** Adds the key after `delayMs`, on a fiber of its own. */
  readonly addAfter: (key: string, delayMs: number) => Effect.Effect<void>
  readonly take: Effect.Effect<string>
  readonly done: (key: string) => Effect.Effect<void>
  /** Queued plus in flight. */
  readonly size: () => number
}

/** Delayed adds run on fibers of the scope that made the queue, so closing it stops them. */
export const makeWorkQueue = Effect.gen(function* () {
  const scope = yield* Scope.Scope
  const queue = yield* Queue.unbounded<string>()
  const queued = new Set<string>()
  const processing = new Set<string>()
  const dirty = new Set<string>()
  let delayed = 0

  const add = (key: string) =>
    Effect.suspend(() => {
      if (processing.has(key)) {
        dirty.add(key)
        return Effect.void
      }
      if (queued.has(key)) return Effect.void
      queued.add(key)
      return Effect.asVoid(Queue.offer(queue, key))
    })

  const self: WorkQueue = {
    add,
    // Counted as pending from the moment it is asked for, not from when its fiber starts: a
    // caller polling `size` must never see zero while a retry is on its way.
    addAfter: (key, delayMs) =>
      Effect.suspend(() => {
        delayed++
        return Effect.asVoid(
          Effect.forkIn(Effect.sleep(delayMs).pipe(Effect.andThen(add(key)), Effect.ensuring(Effect.sync(() => delayed--))), scope)
        )
      }),
    take: Effect.map(Queue.take(queue), (key) => {
      queued.delete(key)
      processing.add(key)
      return key
    }),
    done: (key) =>
      Effect.suspend(() => {
        processing.delete(key)
        if (!dirty.delete(key)) return Effect.void
        return add(key)
      }),
    size: () => queued.size + processing.size + delayed
  }
  return self
})
