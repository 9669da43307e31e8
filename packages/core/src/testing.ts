/**
 * Test kits for clawfleet and for those who extend it. Needs `@effect/vitest` (an optional peer
 * dependency), so import it from tests only.
 */
export { type StoreConformanceOptions, storeConformance } from "./testing/StoreConformance.ts"
