import type { Person, PersonPatch, Versioned } from "@clawfleet/core"
import { Effect } from "effect"
import { ENTERPRISE_USER_SCHEMA, USER_SCHEMA } from "./discovery.ts"
import { compileFilter, type FilterRules, matchAll } from "./filtering.ts"
import { ifMatchAllows, type ListQuery, page, preconditionFailed, type ScimDeps, type ScimResource } from "./internal.ts"
import { applyPatch, parsePatchBody } from "./patch.ts"
import { read } from "./paths.ts"
import { fromCore, ScimError } from "./ScimError.ts"
import { deriveId, parseUser, renderUser, type UserFields, userLocation, userVersion } from "./users.ts"

const USER_FILTERS: FilterRules = {
  schema: USER_SCHEMA,
  attributes: {
    username: { type: "string" },
    id: { type: "string", caseExact: true },
    emails: { type: "multi" },
    "emails.value": { type: "string" },
    "emails.type": { type: "string" },
    displayname: { type: "string" },
    active: { type: "boolean" },
    externalid: { type: "string", caseExact: true }
  }
}
const schemas = { core: [USER_SCHEMA], extensions: [ENTERPRISE_USER_SCHEMA] }

type MutablePatch = { -readonly [K in keyof PersonPatch]: PersonPatch[K] }

/** What a PATCH did to an optional attribute: undefined for nothing, null for a removal, else the new value. */
const saidChange = (was: unknown, now: string | undefined) =>
  now === undefined ? (was === undefined ? undefined : null) : now === was ? undefined : now

/** Joiners, movers and leavers as SCIM's `/Users` endpoint carries them. */
export const makeUserOps = (deps: ScimDeps) => {
  const { fleet, directory, tenants, store, sessions, tokens, apiTokens, base } = deps

  const answer = (row: Versioned<Person>): ScimResource => ({
    body: renderUser(row.value, row.version, base),
    version: userVersion(row.version),
    location: userLocation(base, row.value.id)
  })

  const row = Effect.fnUntraced(function* (id: string) {
    const found = yield* directory.people.find(id)
    if (found === undefined) return yield* ScimError.notFound("User", id)
    return found
  })

  const sameEmail = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

  /**
   * A provider finds a person again by userName or externalId, so two people answering to either
   * would break its matching. Core does not require them unique; SCIM does, for what it writes.
   */
  const requireUnique = Effect.fnUntraced(function* (
    keys: { readonly email?: string | undefined; readonly externalId?: string | undefined },
    except?: string
  ) {
    const { email, externalId } = keys
    if (email === undefined && externalId === undefined) return
    const others = (yield* directory.people.all).filter((p) => p.value.id !== except)
    const sameAddress = email === undefined ? undefined : others.find((p) => sameEmail(p.value.email, email))
    if (sameAddress !== undefined) {
      return yield* ScimError.uniqueness(`userName ${JSON.stringify(email)} is already User ${sameAddress.value.id}`)
    }
    const sameKey = externalId === undefined ? undefined : others.find((p) => p.value.externalId === externalId)
    if (sameKey !== undefined) {
      return yield* ScimError.uniqueness(`externalId ${JSON.stringify(externalId)} is already User ${sameKey.value.id}`)
    }
  })

  // An unknown department must not hold up a joiner or a mover: it is left as it was.
  const departmentId = Effect.fnUntraced(function* (value: string) {
    if (deps.departmentOf !== undefined) return deps.departmentOf(value)
    const wanted = value.toLowerCase()
    const all = yield* directory.departments.all
    return all.find((d) => d.value.id === wanted || d.value.displayName.toLowerCase() === wanted)?.value.id
  })

  /**
   * The patch that brings the person in line with the User. `department` and `externalId` are
   * undefined when the request leaves them as they are, and null when it removes them.
   */
  const changesOf = Effect.fnUntraced(function* (
    person: Person,
    fields: UserFields,
    department: string | null | undefined,
    externalId: string | null | undefined
  ) {
    const patch: MutablePatch = {}
    if (fields.email !== person.email) patch.email = fields.email
    if (externalId !== undefined && externalId !== (person.externalId ?? null)) patch.externalId = externalId
    if (fields.displayName !== person.displayName) patch.displayName = fields.displayName
    if (fields.active !== undefined && fields.active === person.disabled) patch.disabled = !fields.active
    // The team's department is the person's: the extension speaks only for people without a team.
    if (department !== undefined && person.team === undefined) {
      const id = department === null ? null : yield* departmentId(department)
      if (id !== undefined && id !== (person.department ?? null)) patch.department = id
    }
    return patch
  })

  /**
   * Whichever way a person's standing flips, nothing issued before survives it: leaving ends their
   * browser sessions, their API tokens and (by moving their epoch) every short-lived token now;
   * coming back does it again, so a session from before an offboarding done outside SCIM
   * (`Fleet.offboardPerson` ends none) cannot come back to life with them.
   */
  const endAccess = Effect.fnUntraced(function* (id: string) {
    yield* sessions.revokeAllOf(id)
    yield* tokens.revokePerson(id)
    for (const t of yield* apiTokens.list(id)) yield* apiTokens.revoke(t.id)
  })

  /**
   * Reads the person, lets `change` compute the patch, and writes it, in one transaction.
   * `Fleet.updatePerson` suspends a leaver's tenants in the same write. A returning person's
   * tenants stay suspended until they open one (pairing resumes it) or an operator resumes it.
   */
  const write = (
    id: string,
    ifMatch: string | undefined,
    change: (current: Person) => Effect.Effect<MutablePatch | ScimError, ScimError | { readonly _tag: string; readonly message: string }>
  ) =>
    store
      .transaction(
        Effect.gen(function* () {
          const current = yield* row(id)
          if (!ifMatchAllows(ifMatch, userVersion(current.version))) return yield* preconditionFailed(userVersion(current.version))
          const patch = yield* change(current.value)
          if (patch instanceof ScimError) return yield* patch
          yield* requireUnique({ email: patch.email ?? undefined, externalId: patch.externalId ?? undefined }, id)
          if (Object.keys(patch).length === 0) return answer(current)
          yield* fleet.updatePerson(id, patch)
          if (patch.disabled !== undefined) yield* endAccess(id)
          return answer(yield* directory.people.get(id))
        })
      )
      .pipe(Effect.mapError(fromCore))

  return {
    /** A joiner: the person and, when the tenant policy says so, their assistant, named after them. */
    createUser: Effect.fn("Scim.createUser")(function* (body: unknown) {
      const fields = parseUser(body)
      if (fields instanceof ScimError) return yield* fields
      return yield* store.transaction(
        Effect.gen(function* () {
          yield* requireUnique(fields)
          const active = fields.active ?? true
          // A person's id also names their first tenant, so a name a tenant already has is taken too.
          const people = new Set((yield* directory.people.all).map((p) => p.value.id as string))
          const tenantNames = deps.tenantPolicy === "create" ? new Set((yield* tenants.all).map((t) => t.value.name as string)) : new Set()
          const id = deriveId(fields.email, (candidate) => people.has(candidate) || tenantNames.has(candidate))
          const department = fields.department === undefined ? undefined : yield* departmentId(fields.department)
          // Nobody gets an assistant while inactive; activating them later does not create one either.
          yield* fleet.onboardPerson({
            person: {
              id,
              email: fields.email,
              displayName: fields.displayName,
              disabled: !active,
              ...(department === undefined ? {} : { department }),
              ...(fields.externalId === undefined ? {} : { externalId: fields.externalId })
            },
            tenant: deps.tenantPolicy === "create" && active ? undefined : false
          })
          return answer(yield* directory.people.get(id))
        })
      )
    }, Effect.mapError(fromCore)),

    getUser: Effect.fn("Scim.getUser")(function* (id: string) {
      return answer(yield* row(id))
    }, Effect.mapError(fromCore)),

    /** Okta and Entra ID look a person up by `userName eq "…"` or `externalId eq "…"` before they create one. */
    listUsers: Effect.fn("Scim.listUsers")(function* (query: ListQuery) {
      const test = compileFilter(query.filter, USER_FILTERS)
      if (test instanceof ScimError) return yield* test
      const all = (yield* directory.people.all).map((p) => renderUser(p.value, p.version, base))
      return page(matchAll(all, test), query)
    }, Effect.mapError(fromCore)),

    /** PUT: the User as the provider holds it now. Groups are the Groups endpoint's, so they stay. */
    replaceUser: Effect.fn("Scim.replaceUser")(function* (id: string, body: unknown, ifMatch?: string) {
      const fields = parseUser(body)
      if (fields instanceof ScimError) return yield* fields
      // A PUT that does not mention them leaves the department and externalId as they were.
      return yield* write(id, ifMatch, (person) => changesOf(person, fields, fields.department, fields.externalId))
    }),

    /**
     * PATCH: the operations are applied to the User as clawfleet renders it, and the result is
     * read back as a PUT would be, so both kinds of client go through the same checks.
     */
    patchUser: Effect.fn("Scim.patchUser")(function* (id: string, body: unknown, ifMatch?: string) {
      const ops = parsePatchBody(body)
      if (ops instanceof ScimError) return yield* ops
      return yield* write(id, ifMatch, (person) =>
        Effect.gen(function* () {
          const before = renderUser(person, 0, base)
          const after = applyPatch(before, ops, schemas)
          if (after instanceof ScimError) return after
          const fields = parseUser(after)
          if (fields instanceof ScimError) return fields
          // Compared with what was rendered, so only a change (or a removal) counts.
          const department = saidChange(read(read(before, ENTERPRISE_USER_SCHEMA), "department"), fields.department)
          return yield* changesOf(person, fields, department, saidChange(person.externalId, fields.externalId))
        })
      )
    }),

    /**
     * clawfleet keeps a person's records (their audit trail, their tenants' data), so DELETE is
     * an offboarding, not an erasure: the User stays readable, inactive. Deleting data is an
     * operator's decision, with its retention rules.
     */
    deleteUser: Effect.fn("Scim.deleteUser")(function* (id: string, ifMatch?: string) {
      yield* write(id, ifMatch, (person) => Effect.succeed<MutablePatch>(person.disabled ? {} : { disabled: true }))
    })
  }
}
