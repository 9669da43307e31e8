import * as http from "node:http"
import {
  ApiTokens,
  Clawfleet,
  Fleet,
  listen,
  Metering,
  PairingLinks,
  RecordStore,
  RuntimeCompiler,
  Sessions,
  SigningKeys,
  SkillBundles,
  Store,
  StoreError,
  type Table,
  TenantStatus,
  Tenants,
  Tokens,
  withActor
} from "@clawfleet/core"
import { MemoryProvider } from "@clawfleet/core/testing"
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import { makeApiHttp } from "../../src/api/ApiHttp.ts"
import type { RolesConfig } from "../../src/api/Roles.ts"

/**
 * A control plane's REST API on a loopback port over the memory store, with an organisation:
 * `root` (org admin by id), `olga` (org admin by group), `tam` (administers team platform),
 * `mia` (platform) and `otto` (data), each with a tenant named after them, and `nemo` (data), a
 * member who owns nothing. Everybody has a session; tokens are made per test. With `catalog: true`
 * the catalog holds one item of each kind (`SAMPLES`), the skill with a stored bundle, one grant
 * lets the org use every model, and `mia` and `otto` have a token each (labelled `seeded`).
 * With `ready: true` every tenant is reported Ready at `https://<name>.assistants.test` (a
 * reconciler's stand-in), so pairing links answer at once.
 */

/** The catalog items the fixture holds, by collection path. */
export const SAMPLES = {
  models: "gpt-4.1",
  tools: "search",
  "egress-domains": "api.example.com",
  "knowledge-bases": "handbook",
  skills: "writer"
} as const

export type Services = Clawfleet.Services | Sessions | ApiTokens | Metering | SkillBundles | PairingLinks | Tokens | SigningKeys

/** What the fixture created whose ids are not known in advance. */
export interface Seeded {
  readonly grant: string
  readonly digest: string
  /** The seeded token ids of mia and otto. */
  readonly tokens: Readonly<Record<string, string>>
}

export const ROLES: RolesConfig = { orgAdmins: { people: ["root"], groups: ["clawfleet-admins"] } }
export const people = ["root", "olga", "tam", "mia", "otto", "nemo"] as const
export type Who = (typeof people)[number]

export interface Response {
  readonly status: number
  readonly headers: Headers
  readonly json: any
}

export interface RequestInit {
  readonly as?: Who | undefined
  readonly token?: string | undefined
  readonly body?: unknown
  /** Sent as is, not as JSON. */
  readonly rawBody?: string | undefined
  readonly headers?: Record<string, string> | undefined
}

export interface Fixture {
  readonly origin: string
  readonly request: (method: string, path: string, init?: RequestInit) => Effect.Effect<Response>
  /** Runs an effect against the fixture's services, audited as `test`. */
  readonly run: <A, E>(self: Effect.Effect<A, E, Services>) => Effect.Effect<A, E>
  readonly token: (who: Who, scopes: ReadonlyArray<string>) => Effect.Effect<string>
  /** How many audit events the store holds: a refused request must not add any. */
  readonly auditLength: Effect.Effect<number>
  /**
   * While true, every store call fails as an unreachable database does; given tables, only reads
   * and writes of those fail (so a request gets past authentication and fails in its handler).
   */
  readonly storeDown: (down: boolean | ReadonlyArray<Table>) => void
  readonly context: Context.Context<Services>
  readonly cookie: (who: Who) => string
  /** What `seedCatalog` created, when the fixture was made with `catalog: true`. */
  readonly seeded: Seeded | undefined
}

/** The memory store behind a switch that makes every call fail with `Unavailable`. */
const switchableStore = (state: { down: boolean | ReadonlyArray<Table> }) =>
  Layer.effect(
    RecordStore,
    Effect.gen(function* () {
      const inner = yield* RecordStore
      const gate = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | StoreError, R> =>
        Effect.suspend(
          (): Effect.Effect<A, E | StoreError, R> =>
            state.down ? Effect.fail(StoreError.unavailable("test: the store is down", true)) : self
        )
      return RecordStore.of({
        get: (...a) => gate(inner.get(...a)),
        list: (...a) => gate(inner.list(...a)),
        insert: (...a) => gate(inner.insert(...a)),
        update: (...a) => gate(inner.update(...a)),
        remove: (...a) => gate(inner.remove(...a)),
        transaction: (self) => gate(inner.transaction(self)),
        revision: (...a) => gate(inner.revision(...a)),
        appendAudit: (...a) => gate(inner.appendAudit(...a)),
        appendAuditMany: (...a) => gate(inner.appendAuditMany(...a)),
        listAudit: (...a) => gate(inner.listAudit(...a)),
        listAuditByTarget: (...a) => gate(inner.listAuditByTarget(...a)),
        claim: (...a) => gate(inner.claim(...a)),
        release: (...a) => gate(inner.release(...a)),
        auditHead: gate(inner.auditHead)
      })
    })
  ).pipe(Layer.provide(Layer.fresh(Store.layerMemory)))

export const seedOrg = Effect.gen(function* () {
  const fleet = yield* Fleet
  yield* fleet.createDepartment({ id: "engineering", displayName: "Engineering" })
  yield* fleet.createTeam({ id: "platform", displayName: "Platform", department: "engineering" })
  yield* fleet.createTeam({ id: "data", displayName: "Data", department: "engineering" })
  const person = (id: Who, team: string | undefined, groups: ReadonlyArray<string> = []) =>
    fleet.onboardPerson({
      person: { id, email: `${id}@example.com`, displayName: id, ...(team ? { team } : {}), groups: [...groups] },
      tenant: id === "nemo" ? false : undefined
    })
  yield* person("root", undefined)
  yield* person("olga", undefined, ["clawfleet-admins"])
  yield* person("tam", "platform", ["clawfleet-team-admins-platform"])
  yield* person("mia", "platform")
  yield* person("otto", "data")
  yield* person("nemo", "data")
})

/** What a reconciler would write once the tenant runs: Ready, at its endpoint (null: none reported). */
export const reportReady = (name: string, endpoint: string | null = `https://${name}.assistants.test`) =>
  Effect.gen(function* () {
    const tenants = yield* Tenants
    const t = yield* tenants.get(name)
    yield* tenants.writeStatus(
      name,
      t.version,
      new TenantStatus({
        phase: "Ready",
        conditions: [],
        observedGeneration: t.value.generation,
        ...(endpoint !== null ? { endpoint } : {})
      })
    )
  })

/** The catalog, a bundle for its skill, an org-wide grant of every model and two tokens. */
export const seedCatalog = Effect.gen(function* () {
  const fleet = yield* Fleet
  const bundles = yield* SkillBundles
  const digest = yield* bundles.put(yield* bundles.pack([{ path: "SKILL.md", content: "# Writer\n\nWrites well.\n" }]))
  yield* fleet.putCatalogItem("model", { name: SAMPLES.models, upstream: "openai" })
  yield* fleet.putCatalogItem("tool", { name: SAMPLES.tools, url: "https://tools.example.com/mcp" })
  yield* fleet.putCatalogItem("egress", { name: SAMPLES["egress-domains"] })
  yield* fleet.putCatalogItem("knowledge", { name: SAMPLES["knowledge-bases"], displayName: "Handbook" })
  yield* fleet.putCatalogItem("skill", { name: SAMPLES.skills, version: "1.0.0", digest })
  const grant = yield* fleet.grant({ subject: { kind: "org" }, resource: { kind: "model", name: "*" }, effect: "allow" })
  const apiTokens = yield* ApiTokens
  const tokens: Record<string, string> = {}
  for (const who of ["mia", "otto"]) {
    tokens[who] = (yield* apiTokens.create({ person: who, scopes: ["tenants:read"], expiresInDays: 30, label: "seeded" })).record.id
  }
  return { grant: grant.id, digest, tokens } satisfies Seeded
})

export interface FixtureOptions {
  readonly roles?: RolesConfig
  readonly publicOrigin?: string
  /** Seed the catalog, a bundle, a grant and two tokens (`seedCatalog`). Default false. */
  readonly catalog?: boolean
  /** Report every tenant Ready at `https://<name>.assistants.test` (`reportReady`). Default false: Pending. */
  readonly ready?: boolean
}

export const makeFixture = (options: FixtureOptions = {}): Effect.Effect<Fixture, never, Scope.Scope> =>
  Effect.gen(function* () {
    const state: { down: boolean | ReadonlyArray<Table> } = { down: false }
    const store = Store.layerFromRecordStore(switchableStore(state))
    // A runtime to plan against: the memory provider, and a renderer whose config follows access.
    const runtime = Layer.mergeAll(
      MemoryProvider.layer(),
      RuntimeCompiler.layerWith(({ access }) => Effect.succeed({ models: access.models, egress: access.egress }))
    )
    const services = Layer.mergeAll(Sessions.layer(), ApiTokens.layer, SkillBundles.layer, Layer.fresh(Metering.layerMemory), runtime).pipe(
      Layer.provideMerge(PairingLinks.layer),
      Layer.provideMerge(Tokens.layer({ issuer: "https://clawfleet.test" })),
      Layer.provideMerge(SigningKeys.layer()),
      Layer.provideMerge(Clawfleet.layer(store))
    )
    const context = yield* Layer.build(services)
    const run = <A, E>(self: Effect.Effect<A, E, Services>) => self.pipe(withActor("test"), Effect.provide(context)) as Effect.Effect<A, E>
    yield* run(seedOrg).pipe(Effect.orDie)
    if (options.ready === true) {
      for (const who of ["root", "olga", "tam", "mia", "otto"]) yield* run(reportReady(who)).pipe(Effect.orDie)
    }
    const seeded = options.catalog === true ? yield* run(seedCatalog).pipe(Effect.orDie) : undefined

    const cookies = new Map<Who, string>()
    for (const who of people) {
      const issued = yield* run(Context.get(context, Sessions).create(who)).pipe(Effect.orDie)
      cookies.set(who, Redacted.value(issued.token))
    }

    const api = yield* makeApiHttp({ roles: options.roles ?? ROLES, publicOrigin: options.publicOrigin }).pipe(Effect.provide(context))
    const server = http.createServer((req, res) => {
      if (!api(req, res)) res.writeHead(404).end("not the API")
    })
    const { origin } = yield* listen(server, {})

    const request = (method: string, path: string, init: RequestInit = {}) =>
      Effect.promise(async (): Promise<Response> => {
        const headers: Record<string, string> = { ...init.headers }
        if (init.as !== undefined) headers.cookie = `cf_session=${cookies.get(init.as)}`
        if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`
        let body: string | undefined = init.rawBody
        if (init.body !== undefined) {
          body = JSON.stringify(init.body)
          headers["content-type"] ??= "application/json"
        }
        const res = await fetch(`${origin}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) })
        const text = await res.text()
        let json: unknown
        try {
          json = text === "" ? undefined : JSON.parse(text)
        } catch {
          json = text
        }
        return { status: res.status, headers: res.headers, json }
      })

    return {
      origin,
      request,
      run,
      token: (who, scopes) =>
        run(Context.get(context, ApiTokens).create({ person: who, scopes, expiresInDays: 1 })).pipe(
          Effect.orDie,
          Effect.map((t) => Redacted.value(t.token))
        ),
      auditLength: run(Effect.map(Context.get(context, RecordStore).auditHead, (h) => h.seq)).pipe(Effect.orDie),
      storeDown: (down) => {
        state.down = down
      },
      context,
      cookie: (who) => cookies.get(who)!,
      seeded
    } satisfies Fixture
  })
