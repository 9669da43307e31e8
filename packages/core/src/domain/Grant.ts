import { Schema } from "effect"
import { DnsLabel, Text } from "./Names.ts"

export const SubjectKind = Schema.Literals(["person", "team", "department", "org"])
export type SubjectKind = typeof SubjectKind.Type

/** Who a grant is for. The org has no id: there is one. */
export const Subject = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("person"), id: DnsLabel }),
  Schema.Struct({ kind: Schema.Literal("team"), id: DnsLabel }),
  Schema.Struct({ kind: Schema.Literal("department"), id: DnsLabel }),
  Schema.Struct({ kind: Schema.Literal("org") })
])
export type Subject = typeof Subject.Type

export const ResourceKind = Schema.Literals(["skill", "tool", "knowledge", "egress", "model"])
export type ResourceKind = typeof ResourceKind.Type

/** `*` stands for every resource of the kind (for example: every model, for the org). */
export const ResourceName = Schema.String.check(
  Schema.isPattern(/^(?:\*|\*\.[a-z0-9.-]{1,251}|[A-Za-z0-9][A-Za-z0-9._:/-]{0,252})$/, {
    message: "must be a catalog name, a domain pattern, or * for every resource of the kind"
  })
)

const egressName = /^(?:\*|(?:\*\.)?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+)$/

export const Resource = Schema.Struct({ kind: ResourceKind, name: ResourceName }).check(
  Schema.makeFilter(
    (r: { readonly kind: ResourceKind; readonly name: string }) =>
      (r.kind === "egress" ? egressName.test(r.name) : !r.name.startsWith("*.")) || {
        path: ["name"],
        issue:
          r.kind === "egress"
            ? "must be *, a lower-case host such as api.example.com, or a pattern such as *.example.com (egress)"
            : `must be a catalog name or * for a ${r.kind}; *.suffix patterns are for egress only`
      }
  )
)
export type Resource = typeof Resource.Type

export const GrantEffect = Schema.Literals(["allow", "deny"])
export type GrantEffect = typeof GrantEffect.Type

export class Grant extends Schema.Class<Grant>("@clawfleet/core/Grant")({
  id: Schema.String,
  subject: Subject,
  resource: Resource,
  effect: GrantEffect,
  /** From this instant on the grant counts as absent. */
  expiresAt: Schema.optionalKey(Schema.DateTimeUtcFromString),
  reason: Schema.optionalKey(Text(1000)),
  actor: Schema.String,
  createdAt: Schema.DateTimeUtcFromString
}) {}

export const subjectKey = (s: Subject): string => (s.kind === "org" ? "org" : `${s.kind}:${s.id}`)
export const resourceKey = (r: Resource): string => `${r.kind}:${r.name}`
