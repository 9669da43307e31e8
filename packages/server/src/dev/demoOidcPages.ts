/**
 * The pages of the development sign-in provider. Plain forms and no script, so they work in any
 * browser and in tests that speak HTTP; everything that comes from configuration or a request is
 * escaped, since demo names and provider errors end up in the markup.
 */

export const TITLE = "clawfleet development sign-in"
export const BANNER = "Development only — anyone who can reach this page can sign in as any demo person"

export interface DemoPerson {
  readonly id: string
  readonly email: string
  readonly displayName: string
}

import { escapeHtml } from "@clawfleet/core"

const STYLE = `
body{font-family:system-ui,sans-serif;margin:0;background:#f6f6f4;color:#1d1d1b}
main{max-width:28rem;margin:3rem auto;padding:0 1rem}
.banner{background:#fff3c4;border:2px solid #c79a00;border-radius:6px;padding:.75rem 1rem;font-weight:600}
h1{font-size:1.4rem}
form{display:grid;gap:.5rem}
button{font:inherit;text-align:left;padding:.75rem 1rem;border:1px solid #888;border-radius:6px;background:#fff;cursor:pointer}
button:hover,button:focus{border-color:#1d1d1b;outline:2px solid #c79a00}
`

/** `body` is markup already escaped by its caller. */
const layout = (heading: string, body: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${TITLE}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<p class="banner" role="note">${escapeHtml(BANNER)}</p>
<h1>${escapeHtml(heading)}</h1>
${body}
</main>
</body>
</html>
`

/** One button per person: the button's text is its accessible name, so it names the person. */
export const choosePage = (options: { readonly action: string; readonly people: ReadonlyArray<DemoPerson> }): string =>
  layout(
    TITLE,
    options.people.length === 0
      ? "<p>No demo people are configured.</p>"
      : `<p>Choose who to sign in as. No password is asked.</p>
<form method="post" action="${escapeHtml(options.action)}">
${options.people
  .map(
    (p) =>
      `<button type="submit" name="person" value="${escapeHtml(p.id)}">Continue as ${escapeHtml(p.displayName)} (${escapeHtml(p.email)})</button>`
  )
  .join("\n")}
</form>`
  )

export const errorPage = (heading: string, detail: string): string => layout(heading, `<p>${escapeHtml(detail)}</p>`)

/** `form` is the provider's own hidden form (its action and anti-forgery token); the button submits it. */
export const logoutPage = (form: string): string =>
  layout(
    "Sign out of the development sign-in",
    `${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Sign out</button>`
  )

export const signedOutPage = (): string => layout("Signed out", "<p>You are signed out of the development sign-in.</p>")
