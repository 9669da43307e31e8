import { assert, describe, it } from "@effect/vitest"
import { Exit } from "effect"
import { makeBatcher } from "../src/proxy/internal/batcher.ts"

describe("makeBatcher", () => {
  it("sends the first item alone and gathers what arrives while it is in flight", async () => {
    const batches: Array<ReadonlyArray<number>> = []
    let release: () => void = () => {}
    const add = makeBatcher(async (items: ReadonlyArray<number>) => {
      batches.push(items)
      if (batches.length === 1) await new Promise<void>((resolve) => (release = resolve))
      return Exit.succeed(items.map((n) => n * 10))
    })
    const first = add(1)
    const rest = [add(2), add(3), add(4)]
    release()
    const answers = await Promise.all([first, ...rest])
    assert.deepStrictEqual(batches, [[1], [2, 3, 4]])
    assert.deepStrictEqual(
      answers.map((e) => (Exit.isSuccess(e) ? e.value : undefined)),
      [10, 20, 30, 40]
    )
  })

  it("gives every item of a failed batch the failure, and carries on with the next", async () => {
    let calls = 0
    const add = makeBatcher(async (items: ReadonlyArray<string>) => {
      calls++
      if (calls === 1) return Exit.fail("store down")
      if (calls === 2) throw new Error("bug")
      return Exit.succeed(items.map((s) => s.toUpperCase()))
    })
    const failed = await add("a")
    assert.isTrue(Exit.isFailure(failed))
    const died = await add("b")
    assert.isTrue(Exit.isFailure(died) && died.cause.reasons.some((r) => r._tag === "Die"))
    const ok = await add("c")
    assert.deepStrictEqual(Exit.isSuccess(ok) ? ok.value : undefined, "C")
  })

  it("caps a batch at 256 items", async () => {
    const sizes: Array<number> = []
    let release: () => void = () => {}
    const add = makeBatcher(async (items: ReadonlyArray<number>) => {
      sizes.push(items.length)
      if (sizes.length === 1) await new Promise<void>((resolve) => (release = resolve))
      return Exit.succeed(items)
    })
    const all = [add(0), ...Array.from({ length: 600 }, (_, i) => add(i + 1))]
    release()
    await Promise.all(all)
    assert.deepStrictEqual(sizes, [1, 256, 256, 88])
  })
})
