import type * as http from "node:http"
import {
  cookieValue,
  Directory,
  type Explanation,
  Fleet,
  type Grant,
  Metering,
  type PeriodUsage,
  type Person,
  ResourceKind,
  resourceKey,
  Sessions,
  type StoreError,
  type Subject,
  subjectKey,
  type Tenant,
  Tenants,
  type ValidationError
} from "@clawfleet/core"
import { Effect, Exit } from "effect"
import { type Role, Roles, type RolesConfig } from "../api/Roles.ts"
import { Html, html, layout, send } from "./html.ts"

export interface WebPagesOptions {
  /** Who administers what; the same configuration the REST API takes. Default: nobody is an administrator. */
  readonly roles?: RolesConfig | undefined
  /** The origin browsers reach the control plane at (forms post only there). */
  readonly publicOrigin: string
}

export type WebPagesServices = Sessions | Directory | Tenants | Fleet | Metering

const SESSION_COOKIE = "cf_session"
const PAGE_SIZE = 100
const RESOURCE_KINDS: ReadonlyArray<ResourceKind> = ResourceKind.literals

interface Reply {
  readonly status: number
  readonly title: string
  readonly body: Html
  readonly headers?: Record<string, string>
}

interface Viewer {
  readonly person: Person
  readonly role: Role
}

const PATHS = new Set(["/", "/admin", "/admin/", "/admin/people", "/admin/tenants", "/admin/explain"])

const isAdmin = (role: Role) => role.name !== "member"

const nav = (viewer: Viewer | undefined) =>
  viewer === undefined
    ? html`<nav><a href="/">clawfleet</a></nav>`
    : html`<nav><a href="/">My assistant</a>${
        isAdmin(viewer.role)
          ? html`<a href="/admin/people">People</a><a href="/admin/tenants">Tenants</a><a href="/admin/explain">Explain access</a>`
          : ""
      }<form method="post" action="/auth/logout"><span class="note">${viewer.person.displayName} (${roleLabel(viewer.role)})</span>
<button type="submit">Sign out</button></form></nav>`

const roleLabel = (role: Role) => (role.name === "team-admin" ? `team admin of ${role.teams.join(", ")}` : role.name)

/** The first condition that is not met says what the assistant is waiting for. */
const unmet = (tenant: Tenant) => tenant.status.conditions.find((c) => c.status !== "True")

const phase = (tenant: Tenant) => html`<span class="phase ${tenant.status.phase}">${tenant.status.phase}</span>`

const statusCell = (tenant: Tenant) => {
  const condition = unmet(tenant)
  return html`${phase(tenant)}${condition === undefined ? "" : html` <span class="note">${condition.type}: ${condition.message}</span>`}`
}

const number = (n: number) => n.toLocaleString("en-US")
const dollars = (micros: number) => `$${(micros / 1_000_000).toFixed(2)}`

const usageBlock = (tenant: Tenant, usage: PeriodUsage) => {
  const budget = tenant.spec.budget
  const tokens = usage.spentTokens + usage.reservedTokens
  const micros = usage.spentMicros + usage.reservedMicros
  return html`<dl class="usage">
<dt>Requests in ${usage.period}</dt><dd data-usage="requests">${number(usage.requests)}</dd>
<dt>Tokens</dt><dd data-usage="tokens">${number(tokens)}${
    budget.monthlyTokens === undefined ? " (no monthly limit)" : ` of ${number(budget.monthlyTokens)}`
  }</dd>
<dt>Spend</dt><dd data-usage="spend">${dollars(micros)}${
    budget.monthlyUsd === undefined ? " (no monthly budget)" : ` of ${dollars(Math.round(budget.monthlyUsd * 1_000_000))}`
  }</dd>
</dl>`
}

const openLink = (tenant: Tenant) => html`<a class="open" href="/tenants/${encodeURIComponent(tenant.name)}/open">Open ${tenant.name}</a>`

const subjectLabel = (s: Subject) => subjectKey(s)

const grantRow = (grant: Grant, through: Subject, status: string) =>
  html`<tr><td>${grant.effect}</td><td>${resourceKey(grant.resource)}</td><td>${subjectLabel(through)}</td><td>${status}</td><td>${
    grant.expiresAt === undefined ? "never" : grant.expiresAt.toString()
  }</td><td>${grant.reason ?? ""}</td><td>${grant.actor}</td><td><code>${grant.id}</code></td></tr>`

const REASONS: Record<Explanation["reason"], string> = {
  allowed: "an active allow grant covers it and no deny does",
  "denied-by-grant": "an active deny grant covers it",
  "no-grant": "no active grant covers it",
  "person-disabled": "the person is disabled",
  "unknown-subject": "there is no such person"
}

const explanationBlock = (e: Explanation) =>
  html`<section id="decision"><h2>Decision: <span class="${e.allowed ? "allowed" : "denied"}" data-decision="${e.reason}">${
    e.allowed ? "allowed" : "denied"
  }</span></h2>
<p>${subjectLabel(e.subject)} → ${resourceKey(e.resource)}: ${REASONS[e.reason]}${
    e.decidedBy === undefined
      ? ""
      : html`, decided by grant <code>${e.decidedBy.id}</code> (${e.decidedBy.effect} on ${subjectLabel(e.decidedBy.subject)})`
  }.</p>
<h3>Membership chain</h3>${
    e.chain.length === 0
      ? html`<p class="note">None.</p>`
      : html`<ol>${e.chain.map((link) => html`<li>${subjectLabel(link.subject)} <span class="note">${link.via}</span></li>`)}</ol>`
  }
<h3>Grants behind it</h3>${
    e.grants.length === 0
      ? html`<p class="note">No grant on the chain names this resource.</p>`
      : html`<table><thead><tr><th>Effect</th><th>Resource</th><th>Through</th><th>Status</th><th>Expires</th><th>Reason</th><th>By</th><th>Id</th></tr></thead>
<tbody>${e.grants.map((m) => grantRow(m.grant, m.through, m.status))}</tbody></table>`
  }</section>`

const unavailable: Reply = {
  status: 503,
  title: "Unavailable",
  body: html`<h1>Unavailable</h1><p>clawfleet cannot reach its store right now. Try again in a moment.</p>`,
  headers: { "retry-after": "1" }
}

const forbidden = (what: string): Reply => ({
  status: 403,
  title: "Forbidden",
  body: html`<h1>Forbidden</h1><p>${what}</p><p><a href="/">Back to your assistant</a></p>`
})

const signIn = (path: string, status: number): Reply => ({
  status,
  title: "Sign in",
  body: html`<h1>clawfleet</h1><p><a href="/auth/login?returnTo=${encodeURIComponent(path)}">Sign in</a> to reach your assistant.</p>`
})

/**
 * The control plane's web pages, server-rendered without client script: `/` shows the signed-in
 * person their assistants (status, the first unmet condition, an Open link) and this month's
 * usage; `/admin/people`, `/admin/tenants` and `/admin/explain` are for org administrators and
 * for team administrators (limited to their teams). Answers false for every other path.
 */
export const makeWebPages = (
  options: WebPagesOptions
): Effect.Effect<(req: http.IncomingMessage, res: http.ServerResponse) => boolean, never, WebPagesServices> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<WebPagesServices>()
    const run = Effect.runPromiseExitWith(context)
    const sessions = yield* Sessions
    const directory = yield* Directory
    const tenants = yield* Tenants
    const fleet = yield* Fleet
    const metering = yield* Metering
    const roles = Roles.make(options.roles)
    const origin = new URL(options.publicOrigin).origin

    const peopleOfTeams = (teams: ReadonlyArray<string>) =>
      Effect.map(
        Effect.forEach(teams, (team) => directory.people.allWhere({ team })),
        (rows) => rows.flat().map((row) => row.value)
      )

    const home = (viewer: Viewer): Effect.Effect<Reply, StoreError> =>
      Effect.gen(function* () {
        const owned = (yield* tenants.byOwner(viewer.person.id)).map((row) => row.value)
        const usages = yield* Effect.forEach(owned, (t) => metering.usage(t.name), { concurrency: 4 })
        const sections = owned.map(
          (t, i) => html`<section class="tenant" data-tenant="${t.name}"><h2>${t.name} ${statusCell(t)}</h2>
<p>${openLink(t)}</p>
${usageBlock(t, usages[i]!)}</section>`
        )
        return {
          status: 200,
          title: "My assistant",
          body: html`<h1>Hello, ${viewer.person.displayName}</h1>${
            sections.length === 0 ? html`<p>You have no assistant yet.</p>` : html`<h2 class="note">Your assistants</h2>${sections}`
          }`
        }
      })

    const adminIndex = (): Reply => ({
      status: 200,
      title: "Administration",
      body: html`<h1>Administration</h1><ul><li><a href="/admin/people">People</a></li><li><a href="/admin/tenants">Tenants</a></li>
<li><a href="/admin/explain">Explain access</a></li></ul>`
    })

    const people = (viewer: Viewer, url: URL): Effect.Effect<Reply, StoreError> =>
      Effect.gen(function* () {
        let rows: ReadonlyArray<Person>
        let next: string | undefined
        if (viewer.role.name === "team-admin") rows = yield* peopleOfTeams(viewer.role.teams)
        else {
          const cursor = url.searchParams.get("cursor") ?? undefined
          const page = yield* directory.people.list({ limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) }).pipe(orBadCursor)
          if (page === undefined) return badCursor("/admin/people")
          rows = page.items.map((row) => row.value)
          next = page.next
        }
        return {
          status: 200,
          title: "People",
          body: html`<h1>People</h1>${scopeNote(viewer)}<table><thead><tr><th>Id</th><th>Name</th><th>Email</th><th>Team</th><th>Disabled</th><th></th></tr></thead><tbody>${rows.map(
            (p) =>
              html`<tr data-person="${p.id}"><td>${p.id}</td><td>${p.displayName}</td><td>${p.email}</td><td>${p.team ?? ""}</td><td>${
                p.disabled ? "disabled" : ""
              }</td><td><a href="/admin/explain?person=${encodeURIComponent(p.id)}">Explain</a></td></tr>`
          )}</tbody></table>${nextLink("/admin/people", next)}`
        }
      })

    const tenantList = (viewer: Viewer, url: URL): Effect.Effect<Reply, StoreError> =>
      Effect.gen(function* () {
        let rows: ReadonlyArray<Tenant>
        let next: string | undefined
        if (viewer.role.name === "team-admin") {
          const members = yield* peopleOfTeams(viewer.role.teams)
          const owned = yield* Effect.forEach(members, (p) => tenants.byOwner(p.id), { concurrency: 4 })
          rows = owned.flat().map((row) => row.value)
        } else {
          const cursor = url.searchParams.get("cursor") ?? undefined
          const page = yield* tenants.list({ limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) }).pipe(orBadCursor)
          if (page === undefined) return badCursor("/admin/tenants")
          rows = page.items.map((row) => row.value)
          next = page.next
        }
        return {
          status: 200,
          title: "Tenants",
          body: html`<h1>Tenants</h1>${scopeNote(viewer)}<table><thead><tr><th>Name</th><th>Owner</th><th>Status</th><th>Generation</th></tr></thead><tbody>${rows.map(
            (t) =>
              html`<tr data-tenant="${t.name}"><td>${t.name}</td><td>${t.spec.owner}</td><td>${statusCell(t)}</td><td>${t.generation}${
                t.status.observedGeneration < t.generation ? html` <span class="note">(converging)</span>` : ""
              }</td></tr>`
          )}</tbody></table>${nextLink("/admin/tenants", next)}`
        }
      })

    const explainForm = (person: string, kind: string, name: string) =>
      html`<form method="get" action="/admin/explain">
<label>Person <input name="person" value="${person}" required></label>
<label>Kind <select name="kind">${RESOURCE_KINDS.map((k) => html`<option value="${k}"${k === kind ? html` selected` : ""}>${k}</option>`)}</select></label>
<label>Name <input name="name" value="${name}" required placeholder="web-search, api.github.com, *"></label>
<button type="submit">Explain</button></form>`

    const explain = (viewer: Viewer, url: URL): Effect.Effect<Reply, StoreError> =>
      Effect.gen(function* () {
        const person = (url.searchParams.get("person") ?? "").trim()
        const kind = (url.searchParams.get("kind") ?? "").trim()
        const name = (url.searchParams.get("name") ?? "").trim()
        const reply = (status: number, result: Html | string): Reply => ({
          status,
          title: "Explain access",
          body: html`<h1>Explain access</h1><p class="note">Why a person may or may not use a skill, tool, knowledge base, egress host or model.</p>${explainForm(
            person,
            kind,
            name
          )}${result}`
        })
        if (person === "" || name === "") return reply(200, "")
        if (viewer.role.name === "team-admin") {
          const found = yield* directory.people.find(person)
          if (found === undefined || found.value.team === undefined || !viewer.role.teams.includes(found.value.team)) {
            return forbidden(`You do not administer the team of "${person}".`)
          }
        }
        if (!(RESOURCE_KINDS as ReadonlyArray<string>).includes(kind)) {
          return reply(400, html`<p class="denied">Kind must be one of ${RESOURCE_KINDS.join(", ")}.</p>`)
        }
        return yield* fleet.explain({ kind: "person", id: person }, { kind: kind as ResourceKind, name }).pipe(
          Effect.map((e) => reply(200, explanationBlock(e))),
          Effect.catchTag("ValidationError", (e) => Effect.succeed(reply(400, html`<p class="denied">${e.message}</p>`)))
        )
      })

    const route = (path: string, url: URL, viewer: Viewer | undefined): Effect.Effect<Reply, StoreError> => {
      if (viewer === undefined) return Effect.succeed(signIn(path, path === "/" ? 200 : 401))
      if (path === "/") return home(viewer)
      if (!isAdmin(viewer.role)) return Effect.succeed(forbidden("These pages are for administrators."))
      if (path === "/admin/people") return people(viewer, url)
      if (path === "/admin/tenants") return tenantList(viewer, url)
      if (path === "/admin/explain") return explain(viewer, url)
      return Effect.succeed(adminIndex())
    }

    const respond = async (req: http.IncomingMessage, res: http.ServerResponse, path: string) => {
      const url = new URL(req.url ?? "/", origin)
      const token = cookieValue(req.headers.cookie, SESSION_COOKIE)
      const page = Effect.gen(function* () {
        const person = token === undefined || token === "" ? undefined : yield* sessions.verify(token)
        const viewer = person === undefined ? undefined : { person, role: roles.of(person) }
        const reply = yield* route(path, url, viewer).pipe(Effect.catchTag("StoreError", () => Effect.succeed(unavailable)))
        return { reply, viewer }
      }).pipe(Effect.catchTag("StoreError", () => Effect.succeed({ reply: unavailable, viewer: undefined })))
      const exit = await run(page)
      if (Exit.isFailure(exit)) {
        const failed = layout("Error", nav(undefined), html`<h1>Something went wrong</h1>`)
        return send(res, options.publicOrigin, 500, failed)
      }
      const { reply, viewer } = exit.value
      send(res, options.publicOrigin, reply.status, layout(reply.title, nav(viewer), reply.body), reply.headers)
    }

    return (req, res) => {
      const path = (req.url ?? "/").split("?", 1)[0] ?? "/"
      if (!PATHS.has(path)) return false
      if (req.method !== "GET" && req.method !== "HEAD") {
        send(res, options.publicOrigin, 405, layout("Method not allowed", nav(undefined), html`<h1>Method not allowed</h1>`), {
          allow: "GET, HEAD"
        })
        return true
      }
      respond(req, res, path).catch(() => {
        if (!res.headersSent) res.writeHead(500)
        res.end()
      })
      return true
    }
  })

/** A cursor that does not decode (edited by hand, or from another version) is the person's mistake, not the store's. */
const orBadCursor = <A, R>(self: Effect.Effect<A, StoreError | ValidationError, R>): Effect.Effect<A | undefined, StoreError, R> =>
  Effect.catchTag(self, "ValidationError", () => Effect.succeed(undefined))

const badCursor = (path: string): Reply => ({
  status: 400,
  title: "Bad page link",
  body: html`<h1>Bad page link</h1><p>That page link is not valid. <a href="${path}">Start from the first page</a>.</p>`
})

const scopeNote = (viewer: Viewer) =>
  viewer.role.name === "team-admin"
    ? html`<p class="note">Showing the teams you administer: ${viewer.role.teams.join(", ")}.</p>`
    : new Html("")

const nextLink = (path: string, next: string | undefined) =>
  next === undefined ? "" : html`<p><a href="${path}?cursor=${encodeURIComponent(next)}">Next page</a></p>`
