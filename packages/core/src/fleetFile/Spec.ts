import { Schema } from "effect"
import { GrantEffect, Resource, resourceKey, Subject, subjectKey } from "../domain/Grant.ts"
import { DisplayName, DnsLabel, Email, OpenClawVersion, Quantity, TenantName, Text } from "../domain/Names.ts"

/**
 * A fleet file: the organisation as it should be, in YAML.
 *
 * ```yaml
 * defaults:
 *   tenant: { openclaw: { version: "2026.9.6" }, resources: { cpu: 500m, memory: 1Gi } }
 * departments:
 *   - { id: engineering, displayName: Engineering }
 * teams:
 *   - { id: platform, displayName: Platform, department: engineering }
 * people:
 *   - id: ada
 *     email: ada@example.com
 *     displayName: Ada Lovelace
 *     team: platform
 *     tenant: { openclaw: { version: "2026.9.6" } }   # or `tenant: false` for no assistant
 * grants:
 *   - { subject: { kind: team, id: platform }, resource: { kind: skill, name: writer } }
 * ```
 *
 * Every person gets an assistant named after them unless `tenant` is `false` or names another.
 * Only what the file says is compared: a tenant without a version keeps whatever the server has.
 * Unknown members are errors, so a typo does not silently do nothing. The annotations below are
 * what editors show from the generated JSON Schema.
 */

const Version = OpenClawVersion.annotate({ description: 'A pinned OpenClaw CalVer version such as "2026.9.6".' })
const quantity = (what: string) => Schema.optionalKey(Quantity.annotate({ description: `${what}, as a Kubernetes quantity.` }))

export const TenantSettings = Schema.Struct({
  openclaw: Schema.optionalKey(
    Schema.Struct({ version: Schema.optionalKey(Version) }).annotate({ description: "Which OpenClaw the assistant runs." })
  ),
  resources: Schema.optionalKey(
    Schema.Struct({
      cpu: quantity("CPU, e.g. 500m or 1"),
      memory: quantity("Memory, e.g. 1Gi"),
      storage: quantity("Disk for the assistant's workspace, e.g. 10Gi")
    }).annotate({ description: "What the assistant may use. Left out: the server's defaults, or what it already has." })
  )
}).annotate({ title: "Tenant settings" })
export type TenantSettings = typeof TenantSettings.Type

const ref = (what: string) => DnsLabel.annotate({ description: `The id of a ${what}, listed in this file or already on the server.` })

export const FleetDepartment = Schema.Struct({
  id: DnsLabel.annotate({ description: "The department's id: a DNS label (lower-case letters, digits, '-')." }),
  displayName: DisplayName.annotate({ description: "The department's name as people read it." })
}).annotate({ title: "Department" })

export const FleetTeam = Schema.Struct({
  id: DnsLabel.annotate({ description: "The team's id: a DNS label (lower-case letters, digits, '-')." }),
  displayName: DisplayName.annotate({ description: "The team's name as people read it." }),
  department: ref("department")
}).annotate({ title: "Team" })

export const FleetPerson = Schema.Struct({
  id: DnsLabel.annotate({ description: "The person's id: a DNS label; their assistant is named after it." }),
  email: Email.annotate({ description: "The person's e-mail address." }),
  displayName: DisplayName.annotate({ description: "The person's name as people read it." }),
  team: Schema.optionalKey(ref("team")),
  department: Schema.optionalKey(ref("department")),
  tenant: Schema.optionalKey(
    Schema.Union([
      Schema.Literal(false).annotate({ description: "No assistant for this person." }),
      Schema.Struct({
        name: Schema.optionalKey(TenantName.annotate({ description: "The assistant's name; the person's id when left out." })),
        ...TenantSettings.fields
      }).annotate({ description: "The person's assistant, over the file's defaults." })
    ]).annotate({ description: "The person's assistant: settings over the defaults, or false for none. Left out: one with the defaults." })
  )
}).annotate({ title: "Person" })
export type FleetPerson = typeof FleetPerson.Type

export const FleetGrant = Schema.Struct({
  subject: Subject.annotate({
    description: "Who: { kind: org }, or { kind: person | team | department, id: <id> }. A team's or department's grant reaches its people."
  }),
  // On the key: an annotation of a schema ending in a custom check does not reach the JSON Schema.
  resource: Resource.annotateKey({
    description:
      "What: { kind: skill | tool | knowledge | egress | model, name: <catalog name, or * for every one> }; egress names are hosts or *.domain patterns."
  }),
  effect: Schema.optionalKey(GrantEffect.annotate({ description: "allow (the default) or deny; a deny beats any allow at any level." })),
  reason: Schema.optionalKey(Text(1000)).annotateKey({ description: "Why, for the audit log. Not compared: changing it changes nothing." })
}).annotate({ title: "Grant" })
export type FleetGrant = typeof FleetGrant.Type

export const FleetSpec = Schema.Struct({
  defaults: Schema.optionalKey(
    Schema.Struct({ tenant: Schema.optionalKey(TenantSettings) }).annotate({
      description: "Settings every assistant gets unless it says otherwise."
    })
  ),
  departments: Schema.optionalKey(Schema.Array(FleetDepartment).annotate({ description: "Departments to create when missing." })),
  teams: Schema.optionalKey(
    Schema.Array(FleetTeam).annotate({ description: "Teams to create when missing; each belongs to a department." })
  ),
  people: Schema.optionalKey(
    Schema.Array(FleetPerson).annotate({
      description: "People to onboard or bring in line; each gets an assistant unless tenant is false."
    })
  ),
  grants: Schema.optionalKey(
    Schema.Array(FleetGrant).annotate({
      description:
        "Every grant the organisation has. With this key, grants on the server that it does not list are removed; without it, grants are left alone."
    })
  )
}).annotate({
  title: "clawfleet fleet file",
  description: "The organisation as it should be: departments, teams, people with their assistants, and grants."
})
export type FleetSpec = typeof FleetSpec.Type

/** The person's tenant name, or undefined when they have none. */
export const tenantNameOf = (person: FleetPerson): string | undefined =>
  person.tenant === false ? undefined : (person.tenant?.name ?? person.id)

/** The person's tenant settings over the file's defaults. */
export const tenantSettingsOf = (spec: FleetSpec, person: FleetPerson): TenantSettings => {
  const own = person.tenant === false || person.tenant === undefined ? {} : person.tenant
  const defaults = spec.defaults?.tenant ?? {}
  const version = own.openclaw?.version ?? defaults.openclaw?.version
  const resources = { ...defaults.resources, ...own.resources }
  return {
    ...(version !== undefined ? { openclaw: { version } } : {}),
    ...(Object.keys(resources).length > 0 ? { resources } : {})
  }
}

/** A grant's identity in a plan: `allow team:platform skill:writer`. The reason is not part of it. */
export const grantKey = (g: {
  readonly subject: Subject
  readonly resource: Resource
  readonly effect?: GrantEffect | undefined
}): string => `${g.effect ?? "allow"} ${subjectKey(g.subject)} ${resourceKey(g.resource)}`
