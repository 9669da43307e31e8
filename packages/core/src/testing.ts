/**
 * Test kits for clawfleet and for those who extend it. Needs `@effect/vitest` (an optional peer
 * dependency), so import it from tests only.
 */

export { knowledgeConformance } from "./testing/KnowledgeConformance.ts"
export {
  type FailureOptions,
  FakeKubeApi,
  type FakeKubeApiOptions,
  type FakeKubeRequest,
  type FakeKubeResource,
  type KubeObject,
  type KubeObjectRef,
  type KubeVerb,
  MUTATING_VERBS,
  type ObjectFilter
} from "./testing/kubernetes/FakeKubeApi.ts"
export {
  FakeLlm,
  type FakeLlmDrop,
  type FakeLlmFailure,
  type FakeLlmOptions,
  type FakeLlmRequest,
  type FakeLlmUsage,
  type FakeLlmUsageSource
} from "./testing/llm/FakeLlm.ts"
export * as MemoryProvider from "./testing/MemoryProvider.ts"
export { MemoryWorld } from "./testing/MemoryProvider.ts"
export { type MeteringConformanceOptions, meteringConformance } from "./testing/MeteringConformance.ts"
export { type ProviderConformanceOptions, type ProviderScenario, providerConformance } from "./testing/ProviderConformance.ts"
export { testRuntime } from "./testing/runtimeFixture.ts"
export { type StoreConformanceOptions, storeConformance } from "./testing/StoreConformance.ts"
