/**
 * The fake upstream LLM on its own, without the test kits around it: `@clawfleet/core/testing`
 * needs `@effect/vitest`, and a development server that answers with a canned model must not.
 */
export {
  FakeLlm,
  type FakeLlmDrop,
  type FakeLlmFailure,
  type FakeLlmOptions,
  type FakeLlmRequest,
  type FakeLlmUsage,
  type FakeLlmUsageSource
} from "./testing/llm/FakeLlm.ts"
