import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import { HttpApi } from "effect/http-api"
import fc from "fast-check"
import { ClawfleetApi } from "../../src/api/Api.ts"
import { isProblem, type Operation, operationsOf, pathOf, readSpec, sampleBodies } from "./operations.ts"
import { type Fixture, makeFixture } from "./support.ts"

/**
 * Invalid requests derived from the schemas of every operation that takes a body or a query: the
 * OpenAPI document says where the fields are and what types they have; the operation's own
 * payload schema confirms each mutant really is invalid (so none slips through as a valid write).
 * Every answer must be a 4xx problem that names what is wrong, never a 5xx, and the audit log
 * must not grow: nothing was written.
 */

const ids = { person: "otto", tenant: "otto" }

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [k: string]: Json }

interface Mutant {
  readonly label: string
  /** The field it is about, as the problem should name it (`body.person.email`); undefined for the body as a whole. */
  readonly field: string | undefined
  /** Where in the body the mutation is. */
  readonly path?: ReadonlyArray<string>
  readonly body?: unknown
  readonly rawBody?: string
  readonly query?: string
  readonly headers?: Record<string, string>
}

// The payload schema each operation decodes with, to keep only bodies that are really invalid.
const payloadSchemas = new Map<string, Schema.Top>()
HttpApi.reflect(ClawfleetApi, {
  onGroup: () => {},
  onEndpoint: ({ group, endpoint }) => {
    const json = endpoint.payload.get("application/json")
    if (json !== undefined) payloadSchemas.set(`${group.identifier}.${endpoint.identifier}`, json.schemas[0] as Schema.Top)
  }
})
const isInvalidBody = (op: Operation, body: unknown) => {
  const schema = payloadSchemas.get(op.id)
  if (schema === undefined) return true
  return Exit.isFailure(Schema.decodeUnknownExit(schema as Schema.Codec<unknown, unknown>)(body, { onExcessProperty: "error" }))
}

const deref = (spec: any, schema: any): any => {
  if (schema?.$ref === undefined) return schema
  return deref(spec, spec.components.schemas[String(schema.$ref).split("/").pop()!])
}

// A union such as `tenant: false | {...}` is walked through its object member.
const objectOf = (spec: any, schema: any): any => {
  const s = deref(spec, schema)
  if (s?.type === "object") return s
  for (const member of s?.anyOf ?? s?.oneOf ?? []) {
    const o = objectOf(spec, member)
    if (o !== undefined) return o
  }
  return undefined
}

const wrongTypeFor = (schema: any): ReadonlyArray<Json> => {
  const types = new Set<string>([schema?.type, ...(schema?.anyOf ?? []).map((m: any) => m?.type)].filter(Boolean))
  const out: Array<Json> = []
  if (!types.has("string")) out.push("not the right type")
  if (!types.has("number") && !types.has("integer")) out.push(12345)
  if (!types.has("boolean")) out.push(true)
  if (!types.has("object")) out.push({ nested: "object" })
  if (!types.has("array")) out.push(["an", "array"])
  return out
}

const setAt = (value: any, path: ReadonlyArray<string>, replacement: unknown): any => {
  if (path.length === 0) return replacement
  const [head, ...rest] = path
  const base = value !== null && typeof value === "object" && !Array.isArray(value) ? value : {}
  const out: Record<string, unknown> = { ...base }
  if (rest.length === 0 && replacement === undefined) delete out[head!]
  else out[head!] = setAt(base[head!], rest, replacement)
  return out
}

/**
 * The field a mutant at `path` is about: the path itself when its parent is in the sample, or else
 * the first member the sample lacks (setting a field there creates its parents, which may then
 * miss members of their own, and the problem rightly names those).
 */
const anchor = (sample: unknown, path: ReadonlyArray<string>): string => {
  let cur: any = sample
  for (let i = 0; i < path.length - 1; i++) {
    cur = cur?.[path[i]!]
    if (cur === undefined || cur === null || typeof cur !== "object") return `body.${path.slice(0, i + 1).join(".")}`
  }
  return `body.${path.join(".")}`
}

/** Mutants of a valid body: each breaks one rule the schema states. */
const bodyMutants = (spec: any, op: Operation): ReadonlyArray<Mutant> => {
  const sample = sampleBodies[op.id]
  const out: Array<Mutant> = [
    { label: "null body", field: undefined, body: null },
    { label: "array body", field: undefined, body: [] },
    { label: "string body", field: undefined, body: "text" },
    { label: "malformed JSON", field: undefined, rawBody: '{"unterminated": ', headers: { "content-type": "application/json" } }
  ]
  const walk = (schema: any, path: ReadonlyArray<string>, depth: number) => {
    const object = objectOf(spec, schema)
    if (object === undefined || depth > 3) return
    const at = (p: ReadonlyArray<string>) => anchor(sample, p)
    out.push({
      label: `unknown member at body.${path.join(".")}`,
      field: at([...path, "unexpected"]),
      body: setAt(sample, [...path, "unexpected"], 1)
    })
    for (const [key, raw] of Object.entries<any>(object.properties ?? {})) {
      const p = [...path, key]
      const prop = deref(spec, raw)
      if ((object.required ?? []).includes(key))
        out.push({ label: `missing ${at(p)}`, field: at(p), path: p, body: setAt(sample, p, undefined) })
      for (const wrong of wrongTypeFor(prop))
        out.push({ label: `wrong type at ${at(p)}`, field: at(p), path: p, body: setAt(sample, p, wrong) })
      const strings = [prop, ...(prop?.anyOf ?? []).map((m: any) => deref(spec, m))].filter((s: any) => s?.type === "string")
      for (const s of strings) {
        out.push({ label: `oversize string at ${at(p)}`, field: at(p), body: setAt(sample, p, "x".repeat((s.maxLength ?? 10_000) + 1)) })
        if (s.enum !== undefined) out.push({ label: `unknown enum at ${at(p)}`, field: at(p), body: setAt(sample, p, "no-such-value") })
        out.push({ label: `NUL in ${at(p)}`, field: at(p), body: setAt(sample, p, "a\u0000b") })
      }
      walk(raw, p, depth + 1)
    }
  }
  walk(deref(spec, op.raw.requestBody.content["application/json"].schema), [], 0)
  return out.filter((m) => m.body === undefined || isInvalidBody(op, m.body))
}

// Operations without a query ignore one, as HTTP servers do; those with one take no unknown member.
const queryMutants = (op: Operation): ReadonlyArray<Mutant> => {
  if (op.queryParams.length === 0) return []
  const out: Array<Mutant> = [{ label: "unknown query parameter", field: "query.bogus", query: "bogus=1" }]
  for (const name of op.queryParams) {
    const field = `query.${name}`
    const values =
      name === "limit"
        ? ["abc", "0", "1001", "1.5", "-1", "", "1e999"]
        : name === "period"
          ? ["2025-13", "2025-1", "25-06", "NOT A LABEL!", "%00"]
          : name === "after"
            ? ["x".repeat(300), "%00"]
            : ["NOT A LABEL!", "%00", "-leading-dash"]
    for (const v of values) out.push({ label: `${name}=${v.slice(0, 20)}`, field, query: `${name}=${v}` })
  }
  if (op.queryParams.includes("limit")) out.push({ label: "limit twice", field: "query.limit", query: "limit=1&limit=2" })
  return out
}

const headerMutants = (op: Operation): ReadonlyArray<Mutant> =>
  op.headerParams.flatMap((name) =>
    name === "idempotency-key" || name === "if-match"
      ? [{ label: `oversize ${name}`, field: `header.${name}`, body: sampleBodies[op.id], headers: { [name]: "k".repeat(2000) } }]
      : []
  )

const check = (fixture: Fixture, op: Operation, m: Mutant) =>
  Effect.gen(function* () {
    const path = pathOf(op, ids) + (m.query !== undefined ? `?${m.query}` : "")
    const ifMatch = op.headerParams.includes("if-match") && m.headers?.["if-match"] === undefined ? { "if-match": "*" } : {}
    const body = m.body !== undefined || m.rawBody !== undefined ? m : op.hasBody ? { body: sampleBodies[op.id] } : {}
    const r = yield* fixture.request(op.method, path, {
      as: "root",
      ...("rawBody" in body && body.rawBody !== undefined ? { rawBody: body.rawBody } : { body: (body as { body?: unknown }).body }),
      headers: { ...ifMatch, ...m.headers }
    })
    const what = `${op.id} ${m.label}: ${r.status} ${JSON.stringify(r.json)?.slice(0, 300)}`
    assert.isTrue(r.status >= 400 && r.status < 500, what)
    assert.isTrue(isProblem(r), `not a problem document: ${what}`)
    if (m.field !== undefined) {
      const paths: ReadonlyArray<string> = (r.json.errors ?? []).map((e: { path: string }) => e.path)
      // A union may report its member as a whole; the path must still lead to the field.
      const named = paths.some((p) => p !== "body" && (m.field!.startsWith(p) || p.startsWith(m.field!)))
      assert.isTrue(named, `the problem does not name ${m.field}: ${what}`)
    }
  })

describe("fuzz: invalid requests are 4xx problems naming the fault, and change nothing", () => {
  it.live("schema-derived mutants of every body, query and header", () =>
    Effect.gen(function* () {
      const fixture = yield* makeFixture({ catalog: true })
      const spec = yield* readSpec(fixture)
      const operations = operationsOf(spec).filter((op) => op.hasBody || op.queryParams.length > 0)
      assert.isAbove(operations.length, 8)
      let sent = 0
      for (const op of operations) {
        const before = yield* fixture.auditLength
        const mutants = [...(op.hasBody ? bodyMutants(spec, op) : []), ...queryMutants(op), ...headerMutants(op)]
        assert.isAbove(mutants.length, op.hasBody ? 10 : 3, op.id)
        for (const m of mutants) yield* check(fixture, op, m)
        sent += mutants.length
        assert.strictEqual(yield* fixture.auditLength, before, `${op.id}: an invalid request wrote to the store`)
      }
      assert.isAbove(sent, 300)
    }).pipe(Effect.scoped)
  )

  it.live("random JSON in place of any field of any body (fast-check)", () =>
    Effect.gen(function* () {
      const fixture = yield* makeFixture({ catalog: true })
      const spec = yield* readSpec(fixture)
      const before = yield* fixture.auditLength
      for (const op of operationsOf(spec).filter((o) => o.hasBody)) {
        const fields = bodyMutants(spec, op).flatMap((m) => (m.path !== undefined ? [m.path] : []))
        const property = fc.asyncProperty(fc.constantFrom(...fields), fc.jsonValue({ maxDepth: 3 }), async (field, value) => {
          const body = setAt(sampleBodies[op.id], field, value)
          fc.pre(isInvalidBody(op, body))
          const label = `random at ${field.join(".")}`
          await Effect.runPromise(check(fixture, op, { label, field: anchor(sampleBodies[op.id], field), body }))
        })
        yield* Effect.promise(() => fc.assert(property, { numRuns: 40 }))
      }
      assert.strictEqual(yield* fixture.auditLength, before, "an invalid request wrote to the store")
    }).pipe(Effect.scoped)
  )
})
