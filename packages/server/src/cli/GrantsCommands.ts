import { type DnsLabel, Grant, Resource, ResourceKind, type Subject, subjectKey } from "@clawfleet/core"
import { Console, DateTime, Effect, Option, Schema } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import type { Explanation } from "../api/GrantsApi.ts"
import { UsageError } from "./Errors.ts"
import { printJson, printRecord, printTable } from "./Output.ts"
import { orFail } from "./Remote.ts"
import { remote } from "./Root.ts"

/**
 * `clawfleet grants …`: who may use which models, skills, tools, knowledge bases and egress
 * domains. Deny by default; an explicit deny beats any allow at any level.
 */

const encodeGrant = Schema.encodeSync(Grant)
const encodeExplanation = (e: typeof Explanation.Type) => ({
  ...e,
  grants: e.grants.map((g) => ({ ...g, grant: encodeGrant(g.grant) })),
  ...(e.decidedBy !== undefined ? { decidedBy: encodeGrant(e.decidedBy) } : {})
})

const SUBJECT = /^(?:org|(?:person|team|department):[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)$/

/** `person:ada`, `team:platform`, `department:engineering` or `org`; anything else is a usage error. */
export const parseSubject = (text: string): Effect.Effect<Subject, UsageError> => {
  if (!SUBJECT.test(text)) {
    return Effect.fail(
      new UsageError({ message: `--subject ${text} must be org, or person:<id>, team:<id> or department:<id> (ids are DNS labels)` })
    )
  }
  if (text === "org") return Effect.succeed({ kind: "org" })
  const [kind, id] = text.split(":") as ["person" | "team" | "department", string]
  return Effect.succeed({ kind, id: id as DnsLabel })
}

const parseResource = (kind: ResourceKind, name: string): Effect.Effect<Resource, UsageError> =>
  Schema.decodeUnknownEffect(Resource)({ kind, name }).pipe(
    Effect.mapError(() => {
      const hint =
        kind === "egress"
          ? "*, a lower-case host such as api.example.com, or a pattern such as *.example.com"
          : `a catalog name or * (every ${kind})`
      return new UsageError({ message: `--name ${name} is not a valid ${kind} name: it must be ${hint}` })
    })
  )

const kindFlag = Flag.Literals("kind", ResourceKind.literals).pipe(Flag.withDescription("What kind of resource"))
const nameFlag = Flag.String("name").pipe(
  Flag.withDescription("The resource: a catalog name, * for every one of the kind, or for egress a host or *.domain pattern")
)

const showTime = (t: DateTime.Utc | undefined) => (t === undefined ? "-" : DateTime.formatIso(t))

const grantRows = (grants: ReadonlyArray<Grant>) =>
  grants.map((g) => [g.id, g.effect, subjectKey(g.subject), g.resource.kind, g.resource.name, showTime(g.expiresAt), g.reason ?? "-"])
const grantHeaders = ["ID", "EFFECT", "SUBJECT", "KIND", "NAME", "EXPIRES", "REASON"]

const grantsAdd = Command.make(
  "add",
  {
    subject: Flag.String("subject").pipe(Flag.withDescription("Who: person:<id>, team:<id>, department:<id> or org (everybody)")),
    kind: kindFlag,
    name: nameFlag,
    deny: Flag.Boolean("deny").pipe(Flag.withDescription("Deny instead of allow (a deny beats any allow)"), Flag.withDefault(false)),
    reason: Flag.String("reason").pipe(Flag.withDescription("Why, for the audit log (up to 1000 characters)"), Flag.optional)
  },
  Effect.fn(function* ({ subject, kind, name, deny, reason }) {
    const parsed = yield* parseSubject(subject)
    const resource = yield* parseResource(kind, name)
    const r = yield* remote
    const created = yield* r.client.grants
      .create({
        headers: { "idempotency-key": `clawfleet-cli-${crypto.randomUUID()}` },
        payload: {
          subject: parsed,
          resource,
          effect: deny ? "deny" : "allow",
          ...(Option.isSome(reason) ? { reason: reason.value } : {})
        }
      })
      .pipe(orFail(r.server))
    if (r.output === "json") return yield* printJson(encodeGrant(created))
    yield* printTable(grantHeaders, grantRows([created]))
  })
).pipe(Command.withDescription("Allow (or with --deny, deny) a person, team, department or the org a resource"))

const grantsRemove = Command.make(
  "remove",
  { id: Argument.String("id").pipe(Argument.withDescription("The grant's id (see grants list)")) },
  Effect.fn(function* ({ id }) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) {
      return yield* new UsageError({ message: `${id} is not a grant id (a UUID; see clawfleet grants list)` })
    }
    const r = yield* remote
    yield* r.client.grants.delete({ params: { id } }).pipe(orFail(r.server))
    yield* r.output === "json" ? printJson({ id, removed: true }) : Console.log(`Removed grant ${id}.`)
  })
).pipe(Command.withDescription("Revoke a grant; the next access check no longer sees it"), Command.withAlias("rm"))

const grantsList = Command.make(
  "list",
  {
    subject: Flag.String("subject").pipe(
      Flag.withDescription("Only grants to this subject (person:<id>, team:<id>, …, org)"),
      Flag.optional
    ),
    kind: Flag.Literals("kind", ResourceKind.literals).pipe(Flag.withDescription("Only grants of this kind"), Flag.optional)
  },
  Effect.fn(function* ({ subject, kind }) {
    if (Option.isSome(subject)) yield* parseSubject(subject.value)
    const r = yield* remote
    const all: Array<Grant> = []
    let after: string | undefined
    do {
      const page = yield* r.client.grants
        .list({
          query: {
            limit: 1000,
            ...(after !== undefined ? { after } : {}),
            ...(Option.isSome(subject) ? { subject: subject.value } : {}),
            ...(Option.isSome(kind) ? { kind: kind.value } : {})
          }
        })
        .pipe(orFail(r.server))
      all.push(...page.items)
      after = page.next
    } while (after !== undefined)
    if (r.output === "json") return yield* printJson(all.map((g) => encodeGrant(g)))
    yield* printTable(grantHeaders, grantRows(all))
  })
).pipe(Command.withDescription("List grants"), Command.withAlias("ls"))

const reasonText = (e: typeof Explanation.Type): string => {
  switch (e.reason) {
    case "allowed":
      return "an active grant allows it and no deny overrides it"
    case "denied-by-grant":
      return "an active grant denies it (a deny beats any allow)"
    case "no-grant":
      return "no active grant allows it (deny by default)"
    case "person-disabled":
      return "the person is disabled"
    case "unknown-subject":
      return "no such person"
  }
}

const grantText = (g: Grant) =>
  `${g.effect} ${g.resource.kind} ${g.resource.name} for ${subjectKey(g.subject)} (grant ${g.id}${g.reason !== undefined ? `: ${g.reason}` : ""})`

const grantsExplain = Command.make(
  "explain",
  {
    person: Flag.String("person").pipe(Flag.withDescription("The person whose access to explain")),
    kind: kindFlag,
    name: nameFlag
  },
  Effect.fn(function* ({ person, kind, name }) {
    if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(person)) {
      return yield* new UsageError({ message: `--person ${person} is not a person id (a DNS label such as ada)` })
    }
    const resource = yield* parseResource(kind, name)
    const r = yield* remote
    const e = yield* r.client.grants
      .explain({ query: { person: person as DnsLabel, kind: resource.kind, name: resource.name } })
      .pipe(orFail(r.server))
    if (r.output === "json") return yield* printJson(encodeExplanation(e))
    yield* Console.log(`${person} ${e.allowed ? "MAY" : "may NOT"} use ${kind} ${name}: ${e.allowed ? "allowed" : "denied"}`)
    yield* printRecord([
      ["why", reasonText(e)],
      ["decided by", e.decidedBy !== undefined ? grantText(e.decidedBy) : "-"],
      ["chain", e.chain.map((c) => `${subjectKey(c.subject)} (${c.via})`).join(" → ") || "-"]
    ])
    if (e.grants.length > 0) {
      yield* Console.log("")
      yield* printTable(
        ["EFFECT", "THROUGH", "KIND", "NAME", "STATUS", "ID"],
        e.grants.map((g) => [g.grant.effect, subjectKey(g.through), g.grant.resource.kind, g.grant.resource.name, g.status, g.grant.id])
      )
    }
  })
).pipe(
  Command.withDescription(
    "Explain whether a person may use a resource, and why: their membership chain and every grant on it. " +
      "Exits 0 whichever the decision (the command worked); read `allowed` from --output json in scripts."
  )
)

export const grants = Command.make("grants").pipe(
  Command.withDescription("Who may use which models, skills, tools, knowledge bases and egress domains (deny by default)"),
  Command.withSubcommands([grantsList, grantsAdd, grantsRemove, grantsExplain])
)
