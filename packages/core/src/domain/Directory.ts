import { Effect, Schema } from "effect"
import { DisplayName, DnsLabel, Email, Text } from "./Names.ts"

const defaultFalse = <S extends Schema.Boolean>(s: S) =>
  s.pipe(Schema.withDecodingDefaultKey(Effect.succeed(false)), Schema.withConstructorDefault(Effect.succeed(false)))

/** The whole organisation. There is exactly one; grants to it reach everybody. */
export const OrgId = "org" as const

export class Department extends Schema.Class<Department>("@clawfleet/core/Department")({
  id: DnsLabel,
  displayName: DisplayName
}) {}

/** A team belongs to exactly one department, so a person's department follows from their team. */
export class Team extends Schema.Class<Team>("@clawfleet/core/Team")({
  id: DnsLabel,
  displayName: DisplayName,
  department: DnsLabel
}) {}

export class Person extends Schema.Class<Person>("@clawfleet/core/Person")({
  id: DnsLabel,
  email: Email,
  displayName: DisplayName,
  /** The person's team; their department is the team's department. */
  team: Schema.optionalKey(DnsLabel),
  /** For people in a department but no team. Ignored for grants when it disagrees with the team's. */
  department: Schema.optionalKey(DnsLabel),
  /**
   * The identity provider's own key for the person (SCIM `externalId`), which Okta and Entra ID
   * match on when the e-mail changes. Like `email`, core does not require it to be unique.
   */
  externalId: Schema.optionalKey(Text(255).check(Schema.isMinLength(1, { message: "must not be empty" }))),
  /** Group names as the identity provider sends them (OIDC `groups` claim or SCIM). */
  groups: Schema.Array(Text(256)).pipe(
    Schema.withDecodingDefaultKey(Effect.succeed([])),
    Schema.withConstructorDefault(Effect.succeed([]))
  ),
  /** A disabled person keeps their records but is denied everything. */
  disabled: defaultFalse(Schema.Boolean)
}) {}
