import { Clawfleet, Reconciler, RuntimeCompiler, Tenants } from "@clawfleet/core"
import { MemoryProvider } from "@clawfleet/core/testing"
import { Effect, Layer } from "effect"

// A stand-in renderer: the real OpenClaw one is tested on its own; here the config only has to
// change when access changes, as the real one does.
export const compiler = RuntimeCompiler.layerWith(({ access }) =>
  Effect.succeed({ models: access.models, mcp: access.tools, egress: access.egress })
)

export const stack = Reconciler.layer.pipe(
  Layer.provideMerge(compiler),
  Layer.provideMerge(MemoryProvider.layer()),
  Layer.provideMerge(Clawfleet.layerMemory)
)

export const run = <A, E>(self: Effect.Effect<A, E, Layer.Success<typeof stack>>) => Effect.provide(self, Layer.fresh(stack))

export const ada = { id: "ada", email: "ada@example.com", displayName: "Ada" }

export const statusOf = (name: string) => Tenants.use((t) => Effect.map(t.get(name), (v) => v.value.status))
