import { DnsLabel, Person, Tenant, TenantName, Text } from "@clawfleet/core"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { etagHeader, ifMatchHeader } from "./ETag.ts"
import { idempotencyHeader } from "./Idempotency.ts"
import { Page, pageQuery } from "./Paging.ts"
import { commonProblems, IdempotencyKeyReused, PreconditionFailed, PreconditionRequired } from "./Problems.ts"
import { Scopes } from "./Roles.ts"
import { access, admins, everyone } from "./Security.ts"
import { TenantOptions } from "./TenantsApi.ts"

/** Onboarding: the person and, unless `tenant` is false, their assistant (named after them by default). */
export const OnboardPerson = Schema.Struct({
  person: Person,
  tenant: Schema.optionalKey(
    Schema.Union([Schema.Literal(false), Schema.Struct({ name: Schema.optionalKey(TenantName), ...TenantOptions })])
  )
})

export const Onboarded = Schema.Struct({ person: Person, tenant: Schema.optionalKey(Tenant) })

const person = Person.fields

/**
 * A JSON merge patch of a person: any field but the id; `null` takes them out of their team or
 * department, or clears their externalId.
 */
export const PersonPatch = Schema.Struct({
  email: Schema.optionalKey(person.email),
  displayName: Schema.optionalKey(person.displayName),
  team: Schema.optionalKey(Schema.NullOr(DnsLabel)),
  department: Schema.optionalKey(Schema.NullOr(DnsLabel)),
  externalId: Schema.optionalKey(Schema.NullOr(person.externalId.schema)),
  groups: Schema.optionalKey(Schema.Array(Text(256))),
  disabled: Schema.optionalKey(Schema.Boolean)
})

export const PersonPage = Page(Person)

const id = { id: DnsLabel }
const withETag = HttpApiSchema.WithHeaders(Person, etagHeader)

/** `/people`: the directory's people, onboarding and offboarding. */
export class PeopleApi extends HttpApiGroup.make("people")
  .add(
    HttpApiEndpoint.get("list", "/people", {
      query: { ...pageQuery, team: Schema.optionalKey(DnsLabel) },
      success: PersonPage,
      error: commonProblems
    }).pipe(access(admins, Scopes.peopleRead)),
    HttpApiEndpoint.get("get", "/people/:id", { params: id, success: withETag, error: commonProblems }).pipe(
      access(everyone, Scopes.peopleRead)
    ),
    HttpApiEndpoint.post("create", "/people", {
      headers: idempotencyHeader,
      payload: OnboardPerson,
      success: Onboarded.pipe(HttpApiSchema.status(201)),
      error: [...commonProblems, IdempotencyKeyReused]
    }).pipe(access(admins, Scopes.peopleWrite)),
    HttpApiEndpoint.patch("update", "/people/:id", {
      params: id,
      headers: ifMatchHeader,
      payload: PersonPatch,
      success: withETag,
      error: [...commonProblems, PreconditionFailed, PreconditionRequired]
    }).pipe(access(admins, Scopes.peopleWrite)),
    HttpApiEndpoint.post("offboard", "/people/:id/offboard", { params: id, success: withETag, error: commonProblems }).pipe(
      access(admins, Scopes.peopleWrite)
    )
  )
  .annotateMerge(OpenApi.annotations({ description: "People: onboarding (with their assistant), changes, offboarding." })) {}
