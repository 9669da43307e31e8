import { readFile } from "node:fs/promises"
import { type DnsLabel, type OpenClawVersion, Person, type Quantity, Tenant, TenantName } from "@clawfleet/core"
import { Cause, Console, Effect, Option, Schema } from "effect"
import { Argument, CliError, Command, Flag } from "effect/cli"
import { applyPlan, progressLine } from "./Apply.ts"
import { saveCredentials } from "./Credentials.ts"
import { CliFailure, ExitCode, ExitWith, PlanHasChanges, UsageError } from "./Errors.ts"
import { parseFleet } from "./FleetFile.ts"
import { grants } from "./GrantsCommands.ts"
import { dev, install, start } from "./LocalCommands.ts"
import { type OutputFormat, printJson, printRecord, printTable } from "./Output.ts"
import { diff, planJson, readState, renderPlan } from "./Plan.ts"
import { connect, orFail } from "./Remote.ts"
import { remote, root } from "./Root.ts"
import { audit, usage } from "./UsageCommands.ts"

/**
 * `clawfleet`: a client of the server's REST API (`/api/v1`) for people who run a fleet from a
 * shell or CI. Every command goes through the typed client; nothing touches a store directly.
 */

export const VERSION = "0.0.0"

const tenantName = Argument.String("name").pipe(Argument.withSchema(TenantName), Argument.withDescription("The tenant's name"))
const encodeTenant = Schema.encodeSync(Tenant)
const encodePerson = Schema.encodeSync(Person)

const tenantRows = (tenants: ReadonlyArray<Tenant>) =>
  tenants.map((t) => [
    t.name,
    t.spec.owner,
    t.deletionRequestedAt !== undefined ? "Deleting" : t.status.phase,
    t.spec.openclaw.version,
    t.spec.resources.cpu,
    t.spec.resources.memory,
    t.spec.resources.storage
  ])
const tenantHeaders = ["NAME", "OWNER", "PHASE", "OPENCLAW", "CPU", "MEMORY", "STORAGE"]

const showTenant = (output: OutputFormat, t: Tenant) =>
  output === "json" ? printJson(encodeTenant(t)) : printTable(tenantHeaders, tenantRows([t]))

// --- login ---------------------------------------------------------------------------------

const login = Command.make(
  "login",
  {},
  Effect.fn(function* () {
    const flags = yield* root
    if (Option.isNone(flags.server) || Option.isNone(flags.token)) {
      return yield* new UsageError({
        message:
          "login needs --server URL (or CLAWFLEET_SERVER) and --token cft_… (or CLAWFLEET_TOKEN); a signed-in person creates one for themselves with POST /api/v1/tokens"
      })
    }
    const r = yield* connect(flags)
    const me = yield* r.client.me.get().pipe(orFail(r.server))
    const file = yield* saveCredentials({ server: r.server, token: flags.token.value })
    if (flags.output === "json") {
      return yield* printJson({ server: r.server, person: me.person.id, role: me.role, credentials: file })
    }
    yield* Console.log(`Logged in to ${r.server} as ${me.person.id} (${me.role}); credentials saved to ${file}`)
  })
).pipe(
  Command.withDescription(
    "Check an API token against the server and save both for later commands (mode 0600). Browser sign-in (OIDC device flow) is not supported yet."
  )
)

// --- tenants -------------------------------------------------------------------------------

const tenantsList = Command.make(
  "list",
  { owner: Flag.String("owner").pipe(Flag.withDescription("Only this person's tenants"), Flag.optional) },
  Effect.fn(function* ({ owner }) {
    const r = yield* remote
    const all: Array<Tenant> = []
    let after: string | undefined
    do {
      const page = yield* r.client.tenants
        .list({
          query: {
            limit: 1000,
            ...(after !== undefined ? { after } : {}),
            ...(Option.isSome(owner) ? { owner: owner.value as DnsLabel } : {})
          }
        })
        .pipe(orFail(r.server))
      all.push(...page.items)
      after = page.next
    } while (after !== undefined)
    if (r.output === "json") return yield* printJson(all.map((t) => encodeTenant(t)))
    yield* printTable(tenantHeaders, tenantRows(all))
  })
).pipe(Command.withDescription("List tenants"), Command.withAlias("ls"))

const tenantsGet = Command.make(
  "get",
  { name: tenantName },
  Effect.fn(function* ({ name }) {
    const r = yield* remote
    const t = yield* r.client.tenants.get({ params: { name } }).pipe(orFail(r.server))
    yield* showTenant(r.output, t.body)
  })
).pipe(Command.withDescription("Show one tenant"))

const quantity = (flag: string) => Flag.String(flag).pipe(Flag.withDescription(`${flag}, a Kubernetes quantity`), Flag.optional)

const tenantsCreate = Command.make(
  "create",
  {
    name: tenantName,
    owner: Flag.String("owner").pipe(Flag.withDescription("The person the assistant belongs to")),
    version: Flag.String("openclaw-version").pipe(Flag.withDescription("Pinned OpenClaw version, e.g. 2026.9.6"), Flag.optional),
    cpu: quantity("cpu"),
    memory: quantity("memory"),
    storage: quantity("storage")
  },
  Effect.fn(function* ({ name, owner, version, cpu, memory, storage }) {
    const r = yield* remote
    const resources = {
      ...(Option.isSome(cpu) ? { cpu: cpu.value as Quantity } : {}),
      ...(Option.isSome(memory) ? { memory: memory.value as Quantity } : {}),
      ...(Option.isSome(storage) ? { storage: storage.value as Quantity } : {})
    }
    const created = yield* r.client.tenants
      .create({
        headers: { "idempotency-key": `clawfleet-cli-${crypto.randomUUID()}` },
        payload: {
          name,
          spec: {
            owner: owner as DnsLabel,
            ...(Option.isSome(version) ? { openclaw: { version: version.value as OpenClawVersion } } : {}),
            ...(Object.keys(resources).length > 0 ? { resources } : {})
          }
        }
      })
      .pipe(orFail(r.server))
    yield* showTenant(r.output, created.body)
  })
).pipe(Command.withDescription("Create a tenant (the server validates every field)"))

const tenantAction = (action: "suspend" | "resume" | "delete", description: string) =>
  Command.make(
    action,
    { name: tenantName },
    Effect.fn(function* ({ name }) {
      const r = yield* remote
      const t =
        action === "delete"
          ? yield* r.client.tenants.delete({ params: { name } }).pipe(orFail(r.server))
          : (yield* r.client.tenants[action]({ params: { name } }).pipe(orFail(r.server))).body
      yield* showTenant(r.output, t)
    })
  ).pipe(Command.withDescription(description))

const tenantsOpen = Command.make(
  "open",
  { name: tenantName },
  Effect.fn(function* ({ name }) {
    const r = yield* remote
    // Read it first, so a typo is a clear "no such tenant" rather than a link that 404s later.
    yield* r.client.tenants.get({ params: { name } }).pipe(orFail(r.server))
    const url = `${r.server}/tenants/${encodeURIComponent(name)}/open`
    yield* r.output === "json" ? printJson({ name, url }) : Console.log(url)
  })
).pipe(Command.withDescription("Print the URL that opens the tenant's assistant in a browser"))

const tenants = Command.make("tenants").pipe(
  Command.withDescription("Assistants: one OpenClaw gateway each, owned by one person"),
  Command.withSubcommands([
    tenantsList,
    tenantsGet,
    tenantsCreate,
    tenantAction("suspend", "Suspend a tenant (its data stays)"),
    tenantAction("resume", "Resume a suspended tenant"),
    tenantAction("delete", "Delete a tenant and its data"),
    tenantsOpen
  ])
)

// --- people --------------------------------------------------------------------------------

const personRows = (people: ReadonlyArray<Person>) =>
  people.map((p) => [p.id, p.displayName, p.email, p.team ?? p.department ?? "-", p.disabled ? "disabled" : "active"])
const personHeaders = ["ID", "NAME", "EMAIL", "TEAM", "STATE"]

const peopleList = Command.make(
  "list",
  { team: Flag.String("team").pipe(Flag.withDescription("Only this team's people"), Flag.optional) },
  Effect.fn(function* ({ team }) {
    const r = yield* remote
    const all: Array<Person> = []
    let after: string | undefined
    do {
      const page = yield* r.client.people
        .list({
          query: {
            limit: 1000,
            ...(after !== undefined ? { after } : {}),
            ...(Option.isSome(team) ? { team: team.value as DnsLabel } : {})
          }
        })
        .pipe(orFail(r.server))
      all.push(...page.items)
      after = page.next
    } while (after !== undefined)
    if (r.output === "json") return yield* printJson(all.map((p) => encodePerson(p)))
    yield* printTable(personHeaders, personRows(all))
  })
).pipe(Command.withDescription("List people"), Command.withAlias("ls"))

const peopleGet = Command.make(
  "get",
  { id: Argument.String("id").pipe(Argument.withDescription("The person's id")) },
  Effect.fn(function* ({ id }) {
    const r = yield* remote
    const p = (yield* r.client.people.get({ params: { id: id as DnsLabel } }).pipe(orFail(r.server))).body
    if (r.output === "json") return yield* printJson(encodePerson(p))
    yield* printRecord([
      ["id", p.id],
      ["name", p.displayName],
      ["email", p.email],
      ["team", p.team ?? "-"],
      ["department", p.department ?? "-"],
      ["groups", p.groups.join(", ") || "-"],
      ["state", p.disabled ? "disabled" : "active"]
    ])
  })
).pipe(Command.withDescription("Show one person"))

const people = Command.make("people").pipe(
  Command.withDescription("The organisation's people"),
  Command.withSubcommands([peopleList, peopleGet])
)

// --- plan / apply --------------------------------------------------------------------------

const fileFlag = Flag.String("file").pipe(Flag.withAlias("f"), Flag.withDescription("The fleet file (YAML)"))
const pruneFlag = Flag.Boolean("prune").pipe(
  Flag.withDescription("Also offboard people and delete tenants the file does not list"),
  Flag.withDefault(false)
)

const readFleet = (file: string) =>
  Effect.tryPromise(() => readFile(file, "utf8")).pipe(
    Effect.mapError((e) => new UsageError({ message: `cannot read ${file}: ${(e.cause as Error).message}` })),
    Effect.flatMap((text) => parseFleet(text, file))
  )

const makePlan = (file: string, prune: boolean) =>
  Effect.gen(function* () {
    const fleet = yield* readFleet(file)
    const r = yield* remote
    // Grants are read only when the file owns them, so a file without them needs no grants:read.
    const state = yield* readState(r, { grants: fleet.spec.grants !== undefined })
    return { r, plan: yield* diff(fleet, state, { prune }) }
  })

const plan = Command.make(
  "plan",
  {
    file: fileFlag,
    prune: pruneFlag,
    detailedExitcode: Flag.Boolean("detailed-exitcode").pipe(
      Flag.withDescription("Exit 3 when the plan has changes (0 when none)"),
      Flag.withDefault(false)
    )
  },
  Effect.fn(function* ({ file, prune, detailedExitcode }) {
    const { r, plan } = yield* makePlan(file, prune)
    yield* r.output === "json" ? printJson(planJson(plan)) : Console.log(renderPlan(plan).join("\n"))
    if (detailedExitcode && plan.changes.length > 0) return yield* new PlanHasChanges()
  })
).pipe(Command.withDescription("Show what apply would change to make the server match a fleet file"))

const apply = Command.make(
  "apply",
  {
    file: fileFlag,
    prune: pruneFlag,
    concurrency: Flag.Int("concurrency").pipe(Flag.withDescription("Calls in flight at once"), Flag.withDefault(16))
  },
  Effect.fn(function* ({ file, prune, concurrency }) {
    if (concurrency < 1) return yield* new UsageError({ message: "--concurrency must be at least 1" })
    const { r, plan } = yield* makePlan(file, prune)
    if (plan.changes.length === 0) {
      return yield* r.output === "json"
        ? printJson({ ...planJson(plan), applied: 0, failed: [] })
        : Console.log("No changes: the server matches the fleet file.")
    }
    if (r.output === "table") yield* Console.log(renderPlan(plan).join("\n"))
    const result = yield* applyPlan(r, plan, { concurrency, progress: progressLine })
    if (r.output === "json") {
      yield* printJson({ ...planJson(plan), applied: result.applied, failed: result.failed })
    } else {
      yield* Console.log(`Applied ${result.applied} of ${plan.changes.length} changes.`)
    }
    if (result.failed.length > 0) {
      return yield* new CliFailure({ message: `${result.failed.length} changes failed:\n  ${result.failed.join("\n  ")}` })
    }
  })
).pipe(Command.withDescription("Make the server match a fleet file"))

// --- the whole CLI -------------------------------------------------------------------------

export const clawfleet = root.pipe(
  Command.withSubcommands([login, tenants, people, grants, usage, audit, plan, apply, install, start, dev])
)

const run = Command.runWith(clawfleet, { version: VERSION })

/**
 * Runs the CLI on `argv` (without `node` and the script) and answers the exit code; every
 * failure has been reported on stderr by then. Tests call this in-process.
 */
export const runCli = (argv: ReadonlyArray<string>) =>
  run(argv).pipe(
    Effect.as<number>(ExitCode.ok),
    Effect.catch((e: unknown) => {
      if (e instanceof PlanHasChanges) return Effect.succeed(ExitCode.changes)
      if (e instanceof ExitWith) return Effect.succeed(e.code)
      if (e instanceof UsageError) return Console.error(`clawfleet: ${e.message}`).pipe(Effect.as(ExitCode.usage))
      if (e instanceof CliFailure) return Console.error(`clawfleet: ${e.message}`).pipe(Effect.as(ExitCode.failure))
      // effect/cli has already printed the help and what was wrong with the arguments.
      if (CliError.isCliError(e)) return Effect.succeed(ExitCode.usage)
      return Console.error(`clawfleet: ${String(e)}`).pipe(Effect.as(ExitCode.failure))
    }),
    Effect.catchCause((cause) =>
      Console.error(`clawfleet: unexpected error: ${Cause.pretty(cause)}`).pipe(Effect.as<number>(ExitCode.failure))
    )
  )
