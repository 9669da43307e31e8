/**
 * What a SCIM client reads before it provisions anyone (RFC 7643 §5–7): the features this server
 * has, its two resource types and the attributes of each. Okta and Entra ID only need to see
 * PATCH, filtering and bearer authentication offered, but a client that reads the schemas finds
 * exactly the attributes clawfleet keeps and nothing it would silently drop.
 */

export const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
export const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
export const ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
export const LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
const SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
const RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
const SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

/** The scope an API token needs to provision people: `scim` alone is not a valid `resource:verb` scope. */
export const SCIM_SCOPE = "scim:provision"

/** Pages are at most this long, whatever `count` asks for. */
export const MAX_RESULTS = 1000

export const listResponse = (resources: ReadonlyArray<unknown>, totalResults: number, startIndex: number) => ({
  schemas: [LIST_RESPONSE_SCHEMA],
  totalResults,
  startIndex,
  itemsPerPage: resources.length,
  Resources: resources
})

export const serviceProviderConfig = (base: string) => ({
  schemas: [SPC_SCHEMA],
  patch: { supported: true },
  bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
  filter: { supported: true, maxResults: MAX_RESULTS },
  changePassword: { supported: false },
  sort: { supported: false },
  etag: { supported: true },
  authenticationSchemes: [
    {
      type: "oauthbearertoken",
      name: "OAuth Bearer Token",
      description: `A clawfleet API token (cft_…) with the scope ${SCIM_SCOPE}, sent as Authorization: Bearer`,
      primary: true
    }
  ],
  meta: { resourceType: "ServiceProviderConfig", location: `${base}/ServiceProviderConfig` }
})

const resourceType = (base: string, id: "User" | "Group") => ({
  schemas: [RESOURCE_TYPE_SCHEMA],
  id,
  name: id,
  endpoint: `/${id}s`,
  description: id === "User" ? "A person of the organisation" : "A group; membership becomes the person's groups (and team)",
  schema: id === "User" ? USER_SCHEMA : GROUP_SCHEMA,
  ...(id === "User" ? { schemaExtensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }] } : {}),
  meta: { resourceType: "ResourceType", location: `${base}/ResourceTypes/${id}` }
})

export const resourceTypes = (base: string) => [resourceType(base, "User"), resourceType(base, "Group")]

type Attr = {
  readonly name: string
  readonly type: "string" | "boolean" | "complex" | "reference"
  readonly multiValued?: boolean
  readonly required?: boolean
  readonly mutability?: "readOnly" | "readWrite" | "immutable"
  readonly uniqueness?: "none" | "server"
  readonly description: string
  readonly subAttributes?: ReadonlyArray<Attr>
  readonly referenceTypes?: ReadonlyArray<string>
}

const attribute = (a: Attr): unknown => ({
  name: a.name,
  type: a.type,
  multiValued: a.multiValued ?? false,
  description: a.description,
  required: a.required ?? false,
  caseExact: false,
  mutability: a.mutability ?? "readWrite",
  returned: "default",
  uniqueness: a.uniqueness ?? "none",
  ...(a.referenceTypes === undefined ? {} : { referenceTypes: a.referenceTypes }),
  ...(a.subAttributes === undefined ? {} : { subAttributes: a.subAttributes.map(attribute) })
})

const str = (name: string, description: string, extra: Partial<Attr> = {}): Attr => ({ name, type: "string", description, ...extra })

const userAttributes: ReadonlyArray<Attr> = [
  str("userName", "The person's e-mail address; it becomes their clawfleet e-mail", { required: true, uniqueness: "server" }),
  {
    name: "name",
    type: "complex",
    description: "Used for the display name when displayName is absent",
    subAttributes: [str("formatted", "The full name"), str("givenName", "Given name"), str("familyName", "Family name")]
  },
  str("displayName", "The name shown in clawfleet"),
  {
    name: "emails",
    type: "complex",
    multiValued: true,
    description: "The primary address is the e-mail when userName is not one",
    subAttributes: [
      str("value", "The address"),
      str("type", "work, home or other"),
      { name: "primary", type: "boolean", description: "The primary address" }
    ]
  },
  { name: "active", type: "boolean", description: "false offboards the person: sessions and tokens end, assistants are suspended" },
  {
    name: "groups",
    type: "complex",
    multiValued: true,
    mutability: "readOnly",
    description: "Set through the Groups endpoint",
    subAttributes: [str("value", "Group id", { mutability: "readOnly" }), str("display", "Group name", { mutability: "readOnly" })]
  }
]

const groupAttributes: ReadonlyArray<Attr> = [
  str("displayName", "The group's name; a team group (team:<id> by default) sets its members' team", {
    required: true,
    uniqueness: "server"
  }),
  {
    name: "members",
    type: "complex",
    multiValued: true,
    description: "People in the group",
    subAttributes: [
      str("value", "A User id", { mutability: "immutable" }),
      str("display", "The person's display name", { mutability: "readOnly" }),
      { name: "$ref", type: "reference", referenceTypes: ["User"], mutability: "readOnly", description: "The User" }
    ]
  }
]

const enterpriseAttributes: ReadonlyArray<Attr> = [
  str("department", "A clawfleet department (its id or display name); applied to people without a team")
]

const schema = (base: string, id: string, name: string, description: string, attributes: ReadonlyArray<Attr>) => ({
  schemas: [SCHEMA_SCHEMA],
  id,
  name,
  description,
  attributes: attributes.map(attribute),
  meta: { resourceType: "Schema", location: `${base}/Schemas/${id}` }
})

export const schemaDocuments = (base: string) => [
  schema(base, USER_SCHEMA, "User", "A person", userAttributes),
  schema(base, GROUP_SCHEMA, "Group", "A group of people", groupAttributes),
  schema(base, ENTERPRISE_USER_SCHEMA, "EnterpriseUser", "Enterprise user extension", enterpriseAttributes)
]
