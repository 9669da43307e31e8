import {
  Clawfleet,
  Directory,
  EgressDomain,
  Fleet,
  GrantInput,
  Model,
  Person,
  Skill,
  Team,
  Tenant,
  TenantSpec,
  ValidationError
} from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Result, Schema } from "effect"

/**
 * Bad input, field by field. Each row takes a valid `base`, replaces the value at `path`, and
 * decodes it: valid values must decode, invalid ones must fail with issues that name exactly
 * that field and say what is expected.
 */

interface Row {
  readonly subject: string
  readonly schema: Schema.Codec<unknown, unknown>
  readonly base: unknown
  readonly path: string
  readonly valid: ReadonlyArray<unknown>
  readonly invalid: ReadonlyArray<unknown>
}

const setIn = (base: unknown, path: string, value: unknown): unknown => {
  const copy = structuredClone(base) as Record<string, unknown>
  const keys = path.split(".")
  const last = keys.pop() ?? path
  let target = copy
  for (const k of keys) target = target[k] as Record<string, unknown>
  target[last] = value
  return copy
}

const x = (n: number, c = "a") => c.repeat(n)
const hex64 = "0123456789abcdef".repeat(4)

const person = { id: "ada", email: "ada@example.com", displayName: "Ada", team: "platform", department: "eng" }
const spec = { owner: "ada", openclaw: { version: "2026.9.6" }, resources: { cpu: "1", memory: "2Gi", storage: "10Gi" } }
const condition = {
  type: "Ready",
  status: "True",
  reason: "Ready",
  message: "",
  lastTransitionTime: "2026-01-01T00:00:00.000Z",
  observedGeneration: 1
}
const tenant = { name: "ada", spec, status: { phase: "Ready", conditions: [condition], observedGeneration: 1 }, generation: 1 }
const grant = { subject: { kind: "person", id: "ada" }, resource: { kind: "model", name: "gpt-4.1" }, effect: "allow" }
const label = { valid: ["a", "0", "ada", "a-1", "1ab", x(63)], invalid: [x(64), "Ada", "-ada", "ada-", "", "a_b", "a.b", 42] }
const quantity = { valid: ["500m", "1.5Gi", "2", "1e3", "512Mi", ".5", "10Gi"], invalid: ["1.5 Gi", "-1", "Gi", "10GB", "", "1.", "1.5gi"] }

const rows: ReadonlyArray<Row> = [
  { subject: "person", schema: Person, base: person, path: "id", ...label },
  { subject: "person", schema: Person, base: person, path: "team", valid: ["web"], invalid: ["Platform", "platform-"] },
  { subject: "team", schema: Team, base: { id: "platform", displayName: "P", department: "eng" }, path: "id", ...label },
  {
    subject: "team",
    schema: Team,
    base: { id: "platform", displayName: "P", department: "eng" },
    path: "department",
    valid: ["sales"],
    invalid: ["Eng", "eng-"]
  },
  {
    subject: "person",
    schema: Person,
    base: person,
    path: "email",
    valid: ["ada@example.com", "ada.lovelace+ai@mail.example.co.uk", "o'brien@example.ie"],
    invalid: ["ada", "ada@", "@x.com", "a b@x.com", "ada@example", "ada@-example.com", `${x(250)}@x.com`, 42]
  },
  { subject: "person", schema: Person, base: person, path: "displayName", valid: ["A", x(200)], invalid: ["", x(201)] },
  {
    subject: "person",
    schema: Person,
    base: person,
    path: "externalId",
    valid: ["00ujl29u0le5T6Aj10h7", "ghopper", "CN=Ada Lovelace,OU=Eng", x(255)],
    invalid: ["", x(256), "a\u0000b", 42, null]
  },
  {
    subject: "tenant",
    schema: Tenant,
    base: tenant,
    path: "name",
    valid: ["a", "ada", "a-b", "0ada", x(40)],
    invalid: [x(41), "Ada", "-ada", "ada-", "", "a_b", "a.b"]
  },
  {
    subject: "tenant spec",
    schema: TenantSpec,
    base: spec,
    path: "openclaw.version",
    valid: ["2026.9.6", "2026.9.6-beta.1", "2026.9.6-1", "2026.12.31", "2026.1.1"],
    invalid: ["2026.13.1", "2026.0.1", "2026.9.32", "2026.09.6", "1999.1.1", "2026.9.6-rc.1", "2026.9", "v2026.9.6", "latest"]
  },
  { subject: "tenant spec", schema: TenantSpec, base: spec, path: "resources.cpu", ...quantity },
  { subject: "tenant spec", schema: TenantSpec, base: spec, path: "resources.memory", ...quantity },
  { subject: "tenant spec", schema: TenantSpec, base: spec, path: "resources.storage", ...quantity },
  {
    subject: "egress domain",
    schema: EgressDomain,
    base: { name: "api.github.com" },
    path: "name",
    // 253 characters is the longest domain name: three 63-character labels and one of 61.
    valid: ["api.github.com", "*.github.com", "a-b.example.com", "x.io", `${x(63)}.${x(63)}.${x(63)}.${x(61)}`],
    invalid: [
      "*",
      "github",
      "API.github.com",
      "*.*.com",
      "http://x.com",
      "api.github.com.",
      "a..b",
      "-a.com",
      `${x(63)}.${x(63)}.${x(63)}.${x(63)}`
    ]
  },
  {
    subject: "skill",
    schema: Skill,
    base: { name: "summarise", version: "1.0.0", digest: `sha256:${hex64}` },
    path: "digest",
    valid: [`sha256:${hex64}`, `sha256:${x(64, "0")}`],
    invalid: [
      `sha256:${hex64.slice(1)}`,
      `sha256:${hex64}0`,
      `sha256:${hex64.toUpperCase()}`,
      `sha512:${hex64}`,
      hex64,
      `sha256:${x(64, "g")}`
    ]
  },
  {
    subject: "model",
    schema: Model,
    base: { name: "gpt-4.1", upstream: "openai" },
    path: "name",
    valid: ["gpt-4.1", "claude-sonnet-4-5", "openai/gpt-4o:2024-08-06", "Llama-3_70B", x(128)],
    invalid: ["", "-gpt", ".gpt", "gpt 4", "gpt@4", x(129)]
  },
  { subject: "grant", schema: GrantInput, base: grant, path: "subject.id", valid: ["ada", x(63)], invalid: ["Ada", "ada_l", "", x(64)] },
  {
    subject: "grant",
    schema: GrantInput,
    base: grant,
    path: "subject",
    valid: [{ kind: "org" }, { kind: "team", id: "platform" }, { kind: "department", id: "eng" }],
    invalid: [{ kind: "robot", id: "r2" }, {}, "org"]
  },
  {
    subject: "grant",
    schema: GrantInput,
    base: grant,
    path: "resource.kind",
    valid: ["skill", "tool", "knowledge", "egress"],
    invalid: ["database", "Model", ""]
  },
  {
    subject: "grant",
    schema: GrantInput,
    base: grant,
    path: "resource.name",
    valid: ["*", "api.github.com", "openai/gpt-4o"],
    invalid: ["", "**", "*github", "-x", "a b", "*.GitHub.com", "*.github.com", 42]
  },
  { subject: "grant", schema: GrantInput, base: grant, path: "effect", valid: ["deny"], invalid: ["maybe", "ALLOW"] },
  {
    subject: "grant",
    schema: GrantInput,
    base: grant,
    path: "expiresAt",
    valid: ["2026-01-01T00:00:00Z"],
    invalid: ["tomorrow", 1767225600000]
  },
  {
    subject: "tenant",
    schema: Tenant,
    base: tenant,
    path: "status.conditions.0.reason",
    valid: ["Ready", "PodScheduled", "A1"],
    invalid: ["1Ready", "Not Ready", "", "ready-now", "Ready!"]
  }
]

const decode = (row: Row, value: unknown) => Schema.decodeUnknownResult(row.schema)(setIn(row.base, row.path, value), { errors: "all" })

describe("schemas", () => {
  it("every base input is valid", () => {
    for (const row of rows) assert.isTrue(Result.isSuccess(Schema.decodeUnknownResult(row.schema)(row.base)), row.subject)
  })

  for (const row of rows) {
    describe(`${row.subject} ${row.path}`, () => {
      it.each(row.valid.map((v) => [JSON.stringify(v), v]))("accepts %s", (_, value) => {
        const result = decode(row, value)
        assert.isTrue(Result.isSuccess(result), Result.isFailure(result) ? result.failure.message : "")
      })

      it.each(row.invalid.map((v) => [JSON.stringify(v), v]))("rejects %s, naming the field", (_, value) => {
        const result = decode(row, value)
        if (Result.isSuccess(result)) return assert.fail(`${JSON.stringify(value)} was accepted`)
        const error = ValidationError.fromSchemaError(row.subject, result.failure)
        assert.isAbove(error.issues.length, 0)
        for (const issue of error.issues) {
          assert.strictEqual(issue.path, row.path)
          assert.match(issue.message, /^(must |Expected )/)
        }
        assert.include(error.message, `invalid ${row.subject}: ${row.path}: `)
      })
    })
  }
})

const withFleet = <A, E>(self: Effect.Effect<A, E, Clawfleet.Services>) => self.pipe(Effect.provide(Layer.fresh(Clawfleet.layerMemory)))

describe("person encoding", () => {
  it.each([
    ["without externalId", person],
    ["with externalId", { ...person, externalId: "00ujl29u0le5T6Aj10h7" }]
  ])("round-trips a person %s", (_, input) => {
    const encoded = Schema.encodeSync(Person)(Schema.decodeUnknownSync(Person)(input))
    assert.deepStrictEqual(encoded, { ...input, groups: [], disabled: false })
  })
})

describe("Fleet input", () => {
  it.effect("onboardPerson reports every invalid field at once", () =>
    withFleet(
      Effect.gen(function* () {
        const fleet = yield* Fleet
        const error = yield* fleet
          .onboardPerson({ person: { id: "Ada", email: "ada", displayName: "", team: "Platform", department: "eng-" } })
          .pipe(Effect.flip)
        assert.strictEqual(error._tag, "ValidationError")
        if (error._tag !== "ValidationError") return
        assert.strictEqual(error.subject, "person")
        assert.sameMembers(
          error.issues.map((i) => i.path),
          ["id", "email", "displayName", "team", "department"]
        )
        for (const path of ["id", "email", "displayName", "team", "department"]) assert.include(error.message, `${path}: must`)
      })
    )
  )

  it.effect("onboardPerson refuses unknown fields", () =>
    withFleet(
      Effect.gen(function* () {
        const fleet = yield* Fleet
        const person = { id: "ada", email: "ada@example.com", displayName: "Ada", nickname: "al" }
        const error = yield* fleet.onboardPerson({ person }).pipe(Effect.flip)
        assert.deepStrictEqual(error._tag === "ValidationError" && error.issues.map((i) => i.path), ["nickname"])
      })
    )
  )

  it.effect("an invalid tenant spec fails the whole onboarding: the person is not created", () =>
    withFleet(
      Effect.gen(function* () {
        const fleet = yield* Fleet
        const error = yield* fleet
          .onboardPerson({
            person: { id: "ada", email: "ada@example.com", displayName: "Ada" },
            tenant: { openclaw: { version: "2026.13.1" }, resources: { cpu: "1.5 Gi" } }
          })
          .pipe(Effect.flip)
        assert.strictEqual(error._tag === "ValidationError" && error.subject, "tenant")
        assert.sameMembers(error._tag === "ValidationError" ? error.issues.map((i) => i.path) : [], [
          "spec.openclaw.version",
          "spec.resources.cpu"
        ])
        assert.isUndefined(yield* (yield* Directory).people.find("ada"))
      })
    )
  )

  it.effect("createTenant names a tenant name that is too long", () =>
    withFleet(
      Effect.gen(function* () {
        const fleet = yield* Fleet
        yield* fleet.onboardPerson({ person: { id: "ada", email: "ada@example.com", displayName: "Ada" }, tenant: false })
        const error = yield* fleet.createTenant({ name: x(41), spec: { owner: "ada" } }).pipe(Effect.flip)
        assert.deepStrictEqual(error._tag === "ValidationError" && error.issues.map((i) => i.path), ["name"])
        assert.strictEqual((yield* fleet.createTenant({ name: x(40), spec: { owner: "ada" } })).name, x(40))
      })
    )
  )
})
