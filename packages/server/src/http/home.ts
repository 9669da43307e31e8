import type * as http from "node:http"
import { Sessions, type Tenant, Tenants } from "@clawfleet/core"
import { Effect, Exit } from "effect"

const SESSION_COOKIE = "cf_session"

export const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!)

const cookie = (header: string | undefined, name: string) => {
  for (const part of (header ?? "").split(";")) {
    const [key, ...value] = part.trim().split("=")
    if (key === name) return value.join("=")
  }
  return undefined
}

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
.phase{font-size:.85em;padding:.1em .5em;border-radius:.5em;background:#eee}a.open{font-weight:600}</style>
</head><body>${body}</body></html>
`

const tenantLine = (t: Tenant) => {
  const phase = t.status.phase
  const open =
    phase === "Ready" ? `<a class="open" href="/tenants/${escapeHtml(t.name)}/open">Open ${escapeHtml(t.name)}</a>` : escapeHtml(t.name)
  return `<li>${open} <span class="phase">${escapeHtml(phase)}</span></li>`
}

/**
 * The control plane's front page: who is signed in and their assistants, each opened through
 * `/tenants/{name}/open`. The reference server's own UI is out of scope; this is the way in.
 */
export const makeHomePage = Effect.gen(function* () {
  const context = yield* Effect.context<Sessions | Tenants>()
  const run = Effect.runPromiseExitWith(context)
  const sessions = yield* Sessions
  const tenants = yield* Tenants
  return async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const send = (status: number, html: string) => {
      res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
      res.end(html)
    }
    const token = cookie(req.headers.cookie, SESSION_COOKIE)
    const person = token === undefined ? Exit.succeed(undefined) : await run(sessions.verify(token))
    if (Exit.isFailure(person)) return send(503, page("clawfleet", "<p>clawfleet cannot reach its store right now.</p>"))
    if (person.value === undefined) {
      return send(
        200,
        page("clawfleet", `<h1>clawfleet</h1><p><a href="/auth/login?returnTo=%2F">Sign in</a> to reach your assistant.</p>`)
      )
    }
    const owned = await run(tenants.byOwner(person.value.id))
    if (Exit.isFailure(owned)) return send(503, page("clawfleet", "<p>clawfleet cannot reach its store right now.</p>"))
    const list = owned.value.map((row) => tenantLine(row.value)).join("")
    return send(
      200,
      page(
        "clawfleet",
        `<h1>Hello, ${escapeHtml(person.value.displayName)}</h1>` +
          (list === "" ? "<p>You have no assistant yet.</p>" : `<h2>Your assistants</h2><ul>${list}</ul>`) +
          `<form method="post" action="/auth/logout"><button>Sign out</button></form>`
      )
    )
  }
})
