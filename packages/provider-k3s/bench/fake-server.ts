/**
 * The fake API server for the provisioning benchmark, in a process of its own so its CPU does not
 * count against the client's. Talks to the parent over IPC: it sends `{ url }` once listening,
 * answers `"stats"` with request counts by verb, and resets them on `"reset"`.
 */
import { FakeKubeApi, MUTATING_VERBS } from "@clawfleet/core/testing"
import { Effect, Layer } from "effect"

const latencyMs = Number(process.env.FAKE_LATENCY_MS ?? 5)

const program = Effect.gen(function* () {
  const api = yield* FakeKubeApi
  process.send?.({ url: api.url })
  process.on("message", (message) => {
    if (message === "reset") {
      api.resetRequests()
      process.send?.({ reset: true })
    } else if (message === "stats") {
      const byVerb: Record<string, number> = {}
      for (const r of api.requests()) byVerb[r.verb] = (byVerb[r.verb] ?? 0) + 1
      const writes = api.requests().filter((r) => MUTATING_VERBS.has(r.verb)).length
      const cpu = process.cpuUsage()
      process.send?.({
        cpuMs: (cpu.user + cpu.system) / 1000,
        byVerb,
        total: api.requests().length,
        writes,
        objects: api.objects({ labelSelector: "app.kubernetes.io/managed-by=clawfleet" }).length
      })
    } else if (message === "exit") process.exit(0)
  })
  yield* Effect.never
})

Effect.runFork(Effect.provide(program, Layer.fresh(FakeKubeApi.layer({ latencyMs, controllers: true }))))
