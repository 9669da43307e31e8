import * as http from "node:http"
import { ApiTokens, Clawfleet, Fleet, listen, RecordStore, Sessions, Store, StoreError, type Table, withActor } from "@clawfleet/core"
import { Context, Effect, Layer, Redacted } from "effect"
import { makeApiHttp } from "../../src/api/ApiHttp.ts"
import type { RolesConfig } from "../../src/api/Roles.ts"

/**
 * A control plane's REST API on a loopback port over the memory store, with an organisation:
 * `root` (org admin by id), `olga` (org admin by group), `tam` (administers team platform),
 * `mia` (platform) and `otto` (data), each with a tenant named after them, and `nemo` (data), a
 * member who owns nothing. Everybody has a session; tokens are made per test.
 */

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
  readonly run: <A, E>(self: Effect.Effect<A, E, Clawfleet.Services | Sessions | ApiTokens>) => Effect.Effect<A, E>
  readonly token: (who: Who, scopes: ReadonlyArray<string>) => Effect.Effect<string>
  /** How many audit events the store holds: a refused request must not add any. */
  readonly auditLength: Effect.Effect<number>
  /**
   * While true, every store call fails as an unreachable database does; given tables, only reads
   * and writes of those fail (so a request gets past authentication and fails in its handler).
   */
  readonly storeDown: (down: boolean | ReadonlyArray<Table>) => void
  readonly context: Context.Context<Clawfleet.Services | Sessions | ApiTokens>
  readonly cookie: (who: Who) => string
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
  yield* person("tam", "platform", ["clawfleet-team-admin:platform"])
  yield* person("mia", "platform")
  yield* person("otto", "data")
  yield* person("nemo", "data")
})

export const makeFixture = (options: { readonly roles?: RolesConfig; readonly publicOrigin?: string } = {}) =>
  Effect.gen(function* () {
    const state: { down: boolean | ReadonlyArray<Table> } = { down: false }
    const store = Store.layerFromRecordStore(switchableStore(state))
    const services = Layer.mergeAll(Sessions.layer(), ApiTokens.layer).pipe(Layer.provideMerge(Clawfleet.layer(store)))
    const context = yield* Layer.build(services)
    const run = <A, E>(self: Effect.Effect<A, E, Clawfleet.Services | Sessions | ApiTokens>) =>
      self.pipe(withActor("test"), Effect.provide(context)) as Effect.Effect<A, E>
    yield* run(seedOrg).pipe(Effect.orDie)

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
      cookie: (who) => cookies.get(who)!
    } satisfies Fixture
  })
