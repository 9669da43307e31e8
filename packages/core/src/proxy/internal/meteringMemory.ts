import { Clock, Effect } from "effect"
import type { ActualUsage, Admission, BudgetStanding, LedgerEntry, Metering, PeriodUsage, ReservationRequest } from "../Metering.ts"
import {
  type Bucket,
  closingsError,
  credit,
  expiryCutoff,
  ledgerLimitError,
  nextPeriodStart,
  periodOf,
  refill,
  reservationError,
  reservationsError,
  shortfall,
  usageError
} from "./meteringRules.ts"

type Budget = { -readonly [K in keyof Omit<BudgetStanding, "period">]: number }

interface TenantBuckets {
  rpm: Bucket | undefined
  tpm: Bucket | undefined
}

interface Row {
  entry: LedgerEntry
  /** Whether the reservation debited the TPM bucket: settle and release correct it only then. */
  readonly tpmCharged: boolean
}

/** Per tenant and period, request ids in order; sorted again only after an insert. */
interface Page {
  readonly ids: Array<string>
  sorted: boolean
}

const refused = (reason: Extract<Admission, { _tag: "Refused" }>["reason"], retryAfterMs: number | null | undefined): Admission => ({
  _tag: "Refused",
  reason,
  retryAfterMs: retryAfterMs ?? undefined
})

/**
 * Metering in process memory, with the semantics of the SQL implementation. Every operation reads
 * the clock and then decides and writes in one synchronous step, so no other fiber can come in
 * between the check and the write: one process needs no lock.
 */
export const makeMemoryMetering: Effect.Effect<Metering["Service"]> = Effect.sync(() => {
  const budgets = new Map<string, Map<string, Budget>>()
  const buckets = new Map<string, TenantBuckets>()
  const ledger = new Map<string, Row>()
  const pages = new Map<string, Map<string, Page>>()
  // Only reserved rows, so expiry does not walk the whole history.
  const open = new Set<string>()

  const budgetOf = (tenant: string, period: string): Budget => {
    let periods = budgets.get(tenant)
    if (periods === undefined) budgets.set(tenant, (periods = new Map()))
    let budget = periods.get(period)
    if (budget === undefined) {
      budget = { spentTokens: 0, reservedTokens: 0, spentMicros: 0, reservedMicros: 0 }
      periods.set(period, budget)
    }
    return budget
  }

  const pageOf = (tenant: string, period: string): Page => {
    let periods = pages.get(tenant)
    if (periods === undefined) pages.set(tenant, (periods = new Map()))
    let page = periods.get(period)
    if (page === undefined) periods.set(period, (page = { ids: [], sorted: true }))
    return page
  }

  const decide = (request: ReservationRequest, now: number): Admission => {
    if (ledger.has(request.requestId)) return refused("DuplicateRequest", undefined)
    const { limits, tenant, tokens, micros } = request
    const period = periodOf(now)
    // Read without creating: a refusal must leave no trace.
    const budget = budgets.get(tenant)?.get(period) ?? { spentTokens: 0, reservedTokens: 0, spentMicros: 0, reservedMicros: 0 }
    const untilNextMonth = nextPeriodStart(now) - now
    if (limits.monthlyTokens !== undefined && budget.spentTokens + budget.reservedTokens + tokens > limits.monthlyTokens) {
      return refused("MonthlyTokens", tokens > limits.monthlyTokens ? undefined : untilNextMonth)
    }
    if (limits.monthlyMicros !== undefined && budget.spentMicros + budget.reservedMicros + micros > limits.monthlyMicros) {
      return refused("MonthlyMicros", micros > limits.monthlyMicros ? undefined : untilNextMonth)
    }
    const held = buckets.get(tenant)
    const rpm = limits.requestsPerMinute === undefined ? undefined : refill(held?.rpm, limits.requestsPerMinute, now)
    if (rpm !== undefined) {
      const wait = shortfall(rpm, 1)
      if (wait !== undefined) return refused("RequestsPerMinute", wait)
    }
    const tpm = limits.tokensPerMinute === undefined ? undefined : refill(held?.tpm, limits.tokensPerMinute, now)
    if (tpm !== undefined) {
      const wait = shortfall(tpm, tokens)
      if (wait !== undefined) return refused("TokensPerMinute", wait)
    }

    const kept = budgetOf(tenant, period)
    kept.reservedTokens += tokens
    kept.reservedMicros += micros
    // A bucket without a limit is not tracked: it keeps whatever it held.
    if (rpm !== undefined || tpm !== undefined) {
      buckets.set(tenant, {
        rpm: rpm === undefined ? held?.rpm : credit(rpm, -1),
        tpm: tpm === undefined ? held?.tpm : credit(tpm, -tokens)
      })
    }
    ledger.set(request.requestId, {
      entry: {
        requestId: request.requestId,
        tenant,
        period,
        model: request.model,
        state: "reserved",
        reservedTokens: tokens,
        reservedMicros: micros,
        inputTokens: 0,
        outputTokens: 0,
        micros: 0,
        reservedAt: now,
        closedAt: undefined,
        note: undefined
      },
      tpmCharged: tpm !== undefined
    })
    open.add(request.requestId)
    const page = pageOf(tenant, period)
    page.ids.push(request.requestId)
    page.sorted = false
    return { _tag: "Admitted", period, ...kept }
  }

  // Gives the reservation back to the month it was made in and corrects the TPM bucket by what
  // was held minus what was used.
  const close = (row: Row, used: { tokens: number; micros: number }, entry: LedgerEntry, now: number) => {
    const { tenant, period, reservedTokens, reservedMicros } = row.entry
    const budget = budgetOf(tenant, period)
    budget.reservedTokens -= reservedTokens
    budget.reservedMicros -= reservedMicros
    budget.spentTokens += used.tokens
    budget.spentMicros += used.micros
    const held = buckets.get(tenant)
    if (row.tpmCharged && held?.tpm !== undefined) {
      held.tpm = credit(refill(held.tpm, held.tpm.capacity, now), reservedTokens - used.tokens)
    }
    row.entry = entry
    open.delete(entry.requestId)
  }

  const release = (requestId: string, note: string, now: number): boolean => {
    const row = ledger.get(requestId)
    if (row?.entry.state !== "reserved") return false
    close(row, { tokens: 0, micros: 0 }, { ...row.entry, state: "released", closedAt: now, note }, now)
    return true
  }

  const settle = (requestId: string, usage: ActualUsage, now: number): boolean => {
    const row = ledger.get(requestId)
    if (row?.entry.state !== "reserved") return false
    const entry: LedgerEntry = {
      ...row.entry,
      state: "settled",
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      micros: usage.micros,
      closedAt: now
    }
    close(row, { tokens: usage.inputTokens + usage.outputTokens, micros: usage.micros }, entry, now)
    return true
  }

  const now = Effect.map(Clock.currentTimeMillis, Math.floor)

  const service: Metering["Service"] = {
    reserve: (request) => {
      const invalid = reservationError(request)
      return invalid ? Effect.fail(invalid) : Effect.map(now, (at) => decide(request, at))
    },

    reserveMany: (requests) => {
      const invalid = reservationsError(requests)
      return invalid ? Effect.fail(invalid) : Effect.map(now, (at) => requests.map((request) => decide(request, at)))
    },

    settle: (requestId, usage) => {
      const invalid = usageError(usage)
      if (invalid) return Effect.fail(invalid)
      return Effect.map(now, (at) => settle(requestId, usage, at))
    },

    release: (requestId, note) => Effect.map(now, (at) => release(requestId, note, at)),

    closeMany: (items) => {
      const invalid = closingsError(items)
      if (invalid) return Effect.fail(invalid)
      return Effect.map(now, (at) =>
        items.map((item) => ("settle" in item ? settle(item.requestId, item.settle, at) : release(item.requestId, item.release, at)))
      )
    },

    releaseExpired: (olderThanMs) =>
      Effect.map(now, (at) => {
        const cutoff = expiryCutoff(at, olderThanMs)
        const expired = [...open].filter((id) => ledger.get(id)!.entry.reservedAt < cutoff)
        for (const id of expired) release(id, "expired", at)
        return expired.length
      }),

    usage: (tenant, period) =>
      Effect.map(now, (at): PeriodUsage => {
        const p = period ?? periodOf(at)
        const budget = budgets.get(tenant)?.get(p)
        return {
          tenant,
          period: p,
          spentTokens: budget?.spentTokens ?? 0,
          reservedTokens: budget?.reservedTokens ?? 0,
          spentMicros: budget?.spentMicros ?? 0,
          reservedMicros: budget?.reservedMicros ?? 0,
          requests: pages.get(tenant)?.get(p)?.ids.length ?? 0
        }
      }),

    ledger: (tenant, options) => {
      const invalid = ledgerLimitError(options.limit)
      if (invalid) return Effect.fail(invalid)
      return Effect.map(now, (at) => {
        const page = pages.get(tenant)?.get(options.period ?? periodOf(at))
        if (page === undefined) return []
        if (!page.sorted) {
          page.ids.sort()
          page.sorted = true
        }
        const after = options.after
        let i = 0
        if (after !== undefined) {
          let hi = page.ids.length
          while (i < hi) {
            const mid = (i + hi) >>> 1
            if (page.ids[mid]! <= after) i = mid + 1
            else hi = mid
          }
        }
        return page.ids.slice(i, i + options.limit).map((id) => ledger.get(id)!.entry)
      })
    }
  }
  return service
})
