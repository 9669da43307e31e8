import { AuditEvent, type Budget, TenantName } from "@clawfleet/core"
import { Console, DateTime, Effect, Option, Schema } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { CliFailure, UsageError } from "./Errors.ts"
import { printJson, printRecord, printTable } from "./Output.ts"
import { orFail } from "./Remote.ts"
import { remote } from "./Root.ts"

/** `clawfleet usage TENANT` and `clawfleet audit …`: what an assistant spent, and the audit log. */

const PERIOD = /^\d{4}-(?:0[1-9]|1[0-2])$/

/** Millionths of a USD as dollars: at least cents, and every non-zero digit below them. */
export const formatUsd = (micros: number): string => {
  const [whole, fraction = ""] = (micros / 1_000_000).toFixed(6).split(".")
  return `$${whole}.${fraction.replace(/0+$/, "").padEnd(2, "0")}`
}

const percent = (used: number, budget: number | undefined) =>
  budget === undefined ? "-" : budget === 0 ? (used === 0 ? "0%" : "over") : `${Math.round((used / budget) * 100)}%`

export const usage = Command.make(
  "usage",
  {
    tenant: Argument.String("tenant").pipe(Argument.withSchema(TenantName), Argument.withDescription("The tenant's name")),
    period: Flag.String("period").pipe(Flag.withDescription("The month, YYYY-MM in UTC (default: this month)"), Flag.optional)
  },
  Effect.fn(function* ({ tenant, period }) {
    if (Option.isSome(period) && !PERIOD.test(period.value)) {
      return yield* new UsageError({ message: `--period ${period.value} must be a month such as 2026-06` })
    }
    const r = yield* remote
    const used = yield* r.client.usage
      .get({ params: { name: tenant }, query: Option.isSome(period) ? { period: period.value } : {} })
      .pipe(orFail(r.server))
    // The budget is on the tenant; a caller who may read usage but not the tenant still gets the usage.
    const budget: Budget | undefined = yield* r.client.tenants.get({ params: { name: tenant } }).pipe(
      Effect.map((t) => t.body.spec.budget),
      Effect.orElseSucceed(() => undefined)
    )
    if (r.output === "json") return yield* printJson({ ...used, budget: budget ?? null })
    yield* printRecord([
      ["tenant", used.tenant],
      ["period", used.period]
    ])
    yield* Console.log("")
    const usdBudget = budget?.monthlyUsd
    yield* printTable(
      ["", "USED", "RESERVED", "BUDGET", "OF BUDGET"],
      [
        ["requests", String(used.requests), "-", "-", "-"],
        [
          "tokens",
          String(used.spentTokens),
          String(used.reservedTokens),
          budget?.monthlyTokens === undefined ? "-" : String(budget.monthlyTokens),
          percent(used.spentTokens, budget?.monthlyTokens)
        ],
        [
          "spend",
          formatUsd(used.spentMicros),
          formatUsd(used.reservedMicros),
          usdBudget === undefined ? "-" : formatUsd(Math.round(usdBudget * 1_000_000)),
          percent(used.spentMicros, usdBudget === undefined ? undefined : usdBudget * 1_000_000)
        ]
      ]
    )
  })
).pipe(Command.withDescription("A tenant's metered usage for a month: requests, tokens and spend against its budget"))

// --- audit ---------------------------------------------------------------------------------

const encodeEvent = Schema.encodeSync(AuditEvent)

const auditVerify = Command.make(
  "verify",
  {},
  Effect.fn(function* () {
    const r = yield* remote
    const result = yield* r.client.audit.verify().pipe(orFail(r.server))
    if (r.output === "json") yield* printJson(result)
    if (result.ok) {
      if (r.output === "table") yield* Console.log(`The audit log verifies: ${result.events} events, head ${result.headHash}.`)
      return
    }
    return yield* new CliFailure({
      message: `the audit log does NOT verify: it breaks at event ${result.brokenAt} (${result.reason}); the ${result.events} events before it verify`
    })
  })
).pipe(Command.withDescription("Check the audit log's hash chain: exit 0 when it verifies, 1 naming the event where it breaks"))

const auditList = Command.make(
  "list",
  {
    after: Flag.Int("after").pipe(Flag.withDescription("Only events after this sequence number"), Flag.withDefault(0)),
    limit: Flag.Int("limit").pipe(Flag.withDescription("At most this many events"), Flag.withDefault(100))
  },
  Effect.fn(function* ({ after, limit }) {
    if (after < 0) return yield* new UsageError({ message: "--after must be 0 or more" })
    if (limit < 1) return yield* new UsageError({ message: "--limit must be at least 1" })
    const r = yield* remote
    const events: Array<AuditEvent> = []
    let cursor = after
    let more = true
    while (more && events.length < limit) {
      const page = yield* r.client.audit
        .list({ query: { after: cursor, limit: Math.min(1000, limit - events.length) } })
        .pipe(orFail(r.server))
      events.push(...page.items)
      more = page.next !== undefined && page.items.length > 0
      cursor = page.items.at(-1)?.seq ?? cursor
    }
    if (r.output === "json") return yield* printJson(events.map((e) => encodeEvent(e)))
    yield* printTable(
      ["SEQ", "AT", "ACTOR", "ACTION", "TARGET", "DECISION"],
      events.map((e) => [String(e.seq), DateTime.formatIso(e.at), e.actor, e.action, `${e.target.kind}/${e.target.id}`, e.decision ?? "-"])
    )
    if (more) yield* Console.error(`more events follow: clawfleet audit list --after ${cursor}`)
  })
).pipe(Command.withDescription("The audit log, oldest first"), Command.withAlias("ls"))

export const audit = Command.make("audit").pipe(
  Command.withDescription("The hash-chained audit log (org administrators)"),
  Command.withSubcommands([auditList, auditVerify])
)
