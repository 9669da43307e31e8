/**
 * The fake upstream LLM for the proxy benchmark, in a process of its own so its CPU counts
 * against neither the proxy nor the load generator. Sends `{ url }` once listening.
 */
import { FakeLlm } from "@clawfleet/core/testing"
import { Effect } from "effect"

const program = Effect.gen(function* () {
  const fake = yield* FakeLlm
  process.send?.({ url: fake.url })
  process.on("message", (message) => {
    if (message === "exit") process.exit(0)
  })
  yield* Effect.never
})

Effect.runFork(
  Effect.provide(
    program,
    FakeLlm.layer({
      latencyMs: Number(process.env.FAKE_LATENCY_MS ?? 20),
      usage: { promptTokens: 12, completionTokens: Number(process.env.FAKE_CHUNKS ?? 20) }
    })
  )
)
