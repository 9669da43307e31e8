import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import type { ValidationError } from "../../Errors.ts"
import { type Admission, Metering, type MeteringLimits, type ReservationRequest } from "../../proxy/Metering.ts"

export type Service = Metering["Service"]

/**
 * The suite runs its layer on live services, since connection pools keep time and a test clock
 * that never moves would stall them. Each test instead makes a TestClock of its own and hands it
 * to the metering calls only, which read nothing but `Clock.currentTimeMillis`: time stands still
 * unless the test moves it, and rate limits are checked to the millisecond on every layer, SQL
 * included, without real waits.
 */
export const onClock = (metering: Service, clock: Clock.Clock): Service => {
  const at = <A, E>(self: Effect.Effect<A, E>) => Effect.provideService(self, Clock.Clock, clock)
  return {
    reserve: (request) => at(metering.reserve(request)),
    reserveMany: (requests) => at(metering.reserveMany(requests)),
    settle: (requestId, usage) => at(metering.settle(requestId, usage)),
    release: (requestId, note) => at(metering.release(requestId, note)),
    closeMany: (items) => at(metering.closeMany(items)),
    releaseExpired: (olderThanMs) => at(metering.releaseExpired(olderThanMs)),
    usage: (tenant, period) => at(metering.usage(tenant, period)),
    ledger: (tenant, options) => at(metering.ledger(tenant, options))
  }
}

export const startAt = (iso: string) =>
  Effect.gen(function* () {
    const clock = yield* TestClock.make()
    yield* clock.setTime(Date.parse(iso))
    return { m: onClock(yield* Metering, clock), clock, t0: Date.parse(iso) }
  })

// Tenants of one run of the suite, so a store that outlives it does not mix runs.
const run = Math.random().toString(36).slice(2, 8)
export const tenantOf = (name: string) => `${run}-${name}`

export const req = (tenant: string, id: string, tokens: number, limits: MeteringLimits = {}, micros = tokens): ReservationRequest => ({
  requestId: `${tenant}/${id}`,
  tenant,
  model: "test-model",
  tokens,
  micros,
  limits
})

export const refused = (reason: Extract<Admission, { _tag: "Refused" }>["reason"], retryAfterMs?: number): Admission => ({
  _tag: "Refused",
  reason,
  retryAfterMs
})

export const zero = { spentTokens: 0, reservedTokens: 0, spentMicros: 0, reservedMicros: 0 }

export const issuePaths = (e: ValidationError) => e.issues.map((i) => i.path)
