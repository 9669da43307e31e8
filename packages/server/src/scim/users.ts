import { Email, type Person } from "@clawfleet/core"
import { Schema } from "effect"
import { ENTERPRISE_USER_SCHEMA, USER_SCHEMA } from "./discovery.ts"
import { groupRef } from "./groups.ts"
import { isObject, type Json, read } from "./paths.ts"
import { ScimError } from "./ScimError.ts"

/** What clawfleet keeps of a SCIM User. */
export interface UserFields {
  readonly email: string
  readonly displayName: string
  /** Absent when the request does not say. */
  readonly active?: boolean
  /** The enterprise extension's department as the provider names it; absent when not said. */
  readonly department?: string
  /** The provider's own key for the person, compared exactly; absent when not said. */
  readonly externalId?: string
}

const isEmail = Schema.is(Email)

const text = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v.trim() : undefined)

// Entra ID sends booleans as the strings "True" and "False".
const bool = (v: unknown): boolean | undefined | "bad" => {
  if (v === undefined || v === null || typeof v === "boolean") return v ?? undefined
  if (typeof v === "string" && /^(true|false)$/i.test(v)) return v.toLowerCase() === "true"
  return "bad"
}

const primaryEmail = (emails: unknown): string | undefined => {
  if (!Array.isArray(emails)) return undefined
  const pick =
    emails.find((e) => bool(read(e, "primary")) === true) ??
    emails.find((e) => text(read(e, "type"))?.toLowerCase() === "work") ??
    emails[0]
  return text(read(pick, "value"))
}

/**
 * Reads a User as POST or PUT sends it, or as PATCH leaves it. The e-mail is `userName` when that
 * is an address — it must be, for the filter `userName eq "…"` that Okta and Entra ID probe with
 * to find the person again — and otherwise the primary address.
 */
export const parseUser = (resource: unknown): UserFields | ScimError => {
  if (!isObject(resource)) return ScimError.invalidSyntax("the body must be a JSON object")
  const userName = text(read(resource, "userName"))
  if (userName === undefined) return ScimError.invalidValue("userName is required")
  const email = isEmail(userName) ? userName : primaryEmail(read(resource, "emails"))
  if (email === undefined || !isEmail(email)) {
    return ScimError.invalidValue(`userName ${JSON.stringify(userName)} is not an e-mail address and emails holds none`)
  }
  const name = read(resource, "name")
  const given = text(read(name, "givenName"))
  const family = text(read(name, "familyName"))
  const joined = [given, family].filter((s) => s !== undefined).join(" ")
  // Nobody should fail to join for lacking a name: the address stands in for it.
  const displayName = text(read(resource, "displayName")) ?? text(read(name, "formatted")) ?? (joined || email)
  if (displayName.length > 200) return ScimError.invalidValue("displayName must be at most 200 characters")
  const active = bool(read(resource, "active"))
  if (active === "bad") return ScimError.invalidValue("active must be true or false")
  const department = text(read(read(resource, ENTERPRISE_USER_SCHEMA), "department"))
  const externalId = read(resource, "externalId")
  // Kept as sent, spaces and case too: a provider matches on it exactly (RFC 7643 caseExact).
  if (externalId !== undefined && externalId !== null && typeof externalId !== "string") {
    return ScimError.invalidValue("externalId must be a string")
  }
  if (typeof externalId === "string" && externalId.length > 255) return ScimError.invalidValue("externalId must be at most 255 characters")
  return {
    email,
    displayName,
    ...(active === undefined ? {} : { active }),
    ...(department === undefined ? {} : { department }),
    ...(externalId === undefined || externalId === null || externalId === "" ? {} : { externalId })
  }
}

export const userVersion = (version: number) => `W/"${version}"`

export const userLocation = (base: string, id: string) => `${base}/Users/${encodeURIComponent(id)}`

/** The person as a SCIM User. Given and family names are not kept, so `name` carries only `formatted`. */
export const renderUser = (person: Person, version: number, base: string): Json => ({
  schemas: [USER_SCHEMA, ...(person.department === undefined ? [] : [ENTERPRISE_USER_SCHEMA])],
  id: person.id,
  ...(person.externalId === undefined ? {} : { externalId: person.externalId }),
  userName: person.email,
  name: { formatted: person.displayName },
  displayName: person.displayName,
  emails: [{ value: person.email, type: "work", primary: true }],
  active: !person.disabled,
  groups: person.groups.map((g) => groupRef(base, g)),
  ...(person.department === undefined ? {} : { [ENTERPRISE_USER_SCHEMA]: { department: person.department } }),
  meta: { resourceType: "User", location: userLocation(base, person.id), version: userVersion(version) }
})

/** At most 40 characters, so the person's id can also name their tenant. */
const MAX_ID = 40

/**
 * A person id from the address's local part (ASCII, as `Email` allows): `Ada.Lovelace+x@…` →
 * `ada-lovelace-x`, with `-2`, `-3` … appended while `taken` says the id (or the tenant of that
 * name) is used.
 */
export const deriveId = (email: string, taken: (id: string) => boolean): string => {
  const local = email.slice(0, email.lastIndexOf("@"))
  const slug = local
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
  const trim = (s: string, max: number) => s.slice(0, max).replace(/-+$/, "")
  const base = trim(slug, MAX_ID) || "person"
  if (!taken(base)) return base
  for (let n = 2; ; n++) {
    const suffix = `-${n}`
    const id = `${trim(base, MAX_ID - suffix.length) || "person"}${suffix}`
    if (!taken(id)) return id
  }
}
