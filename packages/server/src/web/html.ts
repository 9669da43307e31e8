import type * as http from "node:http"
import { escapeHtml } from "@clawfleet/core"

/**
 * HTML built with the `html` tag: every interpolated value is escaped unless it is itself an
 * `Html` fragment (or an array of them), so a display name can never become markup.
 */

/** Markup that is already safe: made by `html`, never from a raw string. */
export class Html {
  readonly value: string
  constructor(value: string) {
    this.value = value
  }
  toString(): string {
    return this.value
  }
}

const render = (value: unknown): string => {
  if (value instanceof Html) return value.value
  if (Array.isArray(value)) return value.map(render).join("")
  if (value === undefined || value === null || value === false) return ""
  return escapeHtml(String(value))
}

export const html = (strings: TemplateStringsArray, ...values: ReadonlyArray<unknown>): Html => {
  let out = strings[0] ?? ""
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? "")
  return new Html(out)
}

/** No script may run, nothing may be loaded from elsewhere, forms post only to this origin. */
export const contentSecurityPolicy = (publicOrigin: string): string =>
  [
    "default-src 'none'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self'",
    `form-action 'self' ${new URL(publicOrigin).origin}`,
    "base-uri 'none'",
    "frame-ancestors 'none'"
  ].join("; ")

export const securityHeaders = (publicOrigin: string): Record<string, string> => ({
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy": contentSecurityPolicy(publicOrigin),
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin"
})

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#222}
nav{display:flex;gap:1rem;align-items:center;border-bottom:1px solid #ddd;padding-bottom:.5rem;margin-bottom:1rem}
nav form{margin-left:auto}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eee}
.phase{font-size:.85em;padding:.1em .5em;border-radius:.5em;background:#eee}.phase.Ready{background:#d8f5d8}
.phase.Failed{background:#f8d7d7}.note{color:#666}.allowed{color:#070;font-weight:600}.denied{color:#a00;font-weight:600}
a.open{font-weight:600}section.tenant{border:1px solid #ddd;border-radius:.5rem;padding:.5rem 1rem;margin:1rem 0}
label{display:inline-block;margin-right:1rem}`

export const layout = (title: string, nav: Html, body: Html): string =>
  html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${title} · clawfleet</title><style>${new Html(STYLE)}</style></head>
<body>${nav}<main>${body}</main></body></html>
`.value

export const send = (res: http.ServerResponse, publicOrigin: string, status: number, page: string, extra: Record<string, string> = {}) => {
  res.writeHead(status, { ...securityHeaders(publicOrigin), ...extra })
  res.end(page)
}
