import { Fleet, type TenantSpecInput, VirtualKeys, withActor } from "@clawfleet/core"
import { Effect, Redacted } from "effect"

/** The real key the proxy holds for the fake upstreams; a tenant must never see it. */
export const UPSTREAM_KEY = "sk-upstream-secret-0000"

export const upstreamsFor = (fakeUrl: string) => [
  { name: "openai", dialect: "openai" as const, baseUrl: `${fakeUrl}/v1`, apiKey: Redacted.make(UPSTREAM_KEY) },
  { name: "anthropic", dialect: "anthropic" as const, baseUrl: `${fakeUrl}/v1`, apiKey: Redacted.make(UPSTREAM_KEY) }
]

/**
 * Ada owns tenant `ada`, granted gpt-4.1 and claude-sonnet-4-5 but not gpt-4.1-mini; gpt-4.1
 * costs $2 in and $8 out per million tokens. Returns Ada's virtual key.
 */
export const seedTenant = (budget: TenantSpecInput["budget"] = {}) =>
  Effect.gen(function* () {
    const fleet = yield* Fleet
    yield* fleet.onboardPerson({ person: { id: "ada", email: "ada@example.com", displayName: "Ada" }, tenant: false })
    yield* fleet.createTenant({ name: "ada", spec: { owner: "ada", budget } })
    yield* fleet.putCatalogItem("model", { name: "gpt-4.1", upstream: "openai", inputUsdPerMTok: 2, outputUsdPerMTok: 8 })
    yield* fleet.putCatalogItem("model", { name: "gpt-4.1-mini", upstream: "openai" })
    yield* fleet.putCatalogItem("model", { name: "claude-sonnet-4-5", upstream: "anthropic" })
    for (const name of ["gpt-4.1", "claude-sonnet-4-5"]) {
      yield* fleet.grant({ subject: { kind: "person", id: "ada" }, resource: { kind: "model", name }, effect: "allow" })
    }
    const issued = yield* (yield* VirtualKeys).issue("ada")
    return Redacted.value(issued.key)
  }).pipe(withActor("admin@example.com"))

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: any
}

export const send = async (url: string, init: RequestInit & { readonly key?: string | undefined }): Promise<Reply> => {
  const headers = new Headers(init.headers)
  if (init.key !== undefined) headers.set("authorization", `Bearer ${init.key}`)
  if (init.body !== undefined) headers.set("content-type", "application/json")
  const res = await fetch(url, { ...init, headers })
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, text, json }
}

export const chat = (model: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model, messages: [{ role: "user", content: "Say hello" }], ...extra })
