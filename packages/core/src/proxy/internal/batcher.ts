import { Exit } from "effect"

const MAX_BATCH = 256

/**
 * Gathers calls into batches without waiting to fill them: an item goes to `flush` at once when
 * no batch is in flight, and whatever arrives meanwhile goes together in the next one. At low
 * load that is one call per item, as without it; under load one per round trip. Each item gets
 * its own answer, or the batch's failure.
 */
export const makeBatcher = <I, O, E>(flush: (items: ReadonlyArray<I>) => Promise<Exit.Exit<ReadonlyArray<O>, E>>) => {
  let queue: Array<{ readonly item: I; readonly done: (exit: Exit.Exit<O, E>) => void }> = []
  let busy = false
  const drain = async () => {
    busy = true
    while (queue.length > 0) {
      const batch = queue.slice(0, MAX_BATCH)
      queue = queue.slice(batch.length)
      const exit = await flush(batch.map((b) => b.item)).catch((defect: unknown) => Exit.die(defect))
      for (let i = 0; i < batch.length; i++) {
        batch[i]!.done(Exit.isSuccess(exit) ? Exit.succeed(exit.value[i] as O) : Exit.failCause(exit.cause))
      }
    }
    busy = false
  }
  return (item: I): Promise<Exit.Exit<O, E>> =>
    new Promise((resolve) => {
      queue.push({ item, done: resolve })
      if (!busy) void drain()
    })
}
