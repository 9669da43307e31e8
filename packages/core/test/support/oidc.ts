import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
// @ts-expect-error oidc-provider ships no type declarations
import Provider from "oidc-provider"

/**
 * A real `oidc-provider` on 127.0.0.1 for tests, with its development login and consent pages,
 * and a browser that plays a person there with plain HTTP.
 */
export interface OidcTestProvider {
  readonly issuer: string
  readonly close: () => Promise<void>
}

export const CLIENT_ID = "clawfleet"
export const CLIENT_SECRET = "a-secret-only-the-test-knows"

export const startOidcProvider = async (options: {
  /** What the provider says about each login. */
  readonly accounts: Record<string, Record<string, unknown>>
  readonly redirectUri: string
  readonly postLogoutRedirectUri: string
}): Promise<OidcTestProvider> => {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [options.redirectUri],
        post_logout_redirect_uris: [options.postLogoutRedirectUri],
        grant_types: ["authorization_code"],
        response_types: ["code"]
      }
    ],
    // v9 knows only S256; `required` makes PKCE mandatory for confidential clients too.
    pkce: { required: () => true },
    claims: { openid: ["sub"], email: ["email", "email_verified"], groups: ["groups"] },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    cookies: { keys: ["test-cookie-signing-key"] },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    findAccount: (_ctx: unknown, sub: string) =>
      options.accounts[sub] === undefined ? undefined : { accountId: sub, claims: () => ({ sub, ...options.accounts[sub] }) }
  })
  server.on("request", provider.callback())
  return {
    issuer,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        // fetch keeps connections alive; close would wait for them.
        server.closeAllConnections()
      })
  }
}

// ---- The browser ---------------------------------------------------------------------------

const makeJar = () => {
  const cookies = new Map<string, string>()
  return {
    header: () => [...cookies].map(([k, v]) => `${k}=${v}`).join("; "),
    keep: (res: Response) => {
      for (const line of res.headers.getSetCookie()) {
        const pair = line.split(";")[0]!
        const at = pair.indexOf("=")
        const name = pair.slice(0, at).trim()
        const value = pair.slice(at + 1)
        if (value === "" || /expires=Thu, 01 Jan 1970/i.test(line)) cookies.delete(name)
        else cookies.set(name, value)
      }
    }
  }
}

/**
 * Plays the person at the provider: follows redirects, signs in as `login` and consents, and
 * returns the URL the provider finally sends the browser to on our side.
 */
export const loginAt = async (authorizationUrl: URL, login: string, redirectUri: string): Promise<URL> => {
  const jar = makeJar()
  let url = authorizationUrl
  let form: URLSearchParams | undefined
  for (let step = 0; step < 12; step++) {
    const res = await fetch(url, {
      redirect: "manual",
      ...(form === undefined
        ? { headers: { cookie: jar.header() } }
        : { method: "POST", body: form, headers: { cookie: jar.header(), "content-type": "application/x-www-form-urlencoded" } })
    })
    jar.keep(res)
    form = undefined
    const location = res.headers.get("location")
    if (location !== null) {
      url = new URL(location, url)
      if (url.href.startsWith(redirectUri)) return url
      continue
    }
    const page = await res.text()
    const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1]
    const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1]
    if (res.status !== 200 || prompt === undefined || action === undefined) {
      throw new Error(`the provider answered ${res.status} at ${url.pathname}: ${page.slice(0, 400)}`)
    }
    url = new URL(action.replaceAll("&amp;", "&"), url)
    form = new URLSearchParams({ prompt, login, password: "anything" })
  }
  throw new Error("the provider never sent the browser back")
}
