import { isIP } from "node:net"
import { domainToASCII } from "node:url"

/** Where a tenant asked to go, once it is known to name a host and a port. */
export interface EgressTarget {
  readonly ok: true
  /** Lower-case ASCII (punycode), no trailing dot: the form grants are written in. */
  readonly host: string
  readonly port: number
}

/** A request whose target is refused before anyone is asked about it. */
export interface BadTarget {
  readonly ok: false
  readonly status: 400 | 403
  readonly reason: "bad-request" | "ip-literal" | "not-a-hostname"
  /** What the client sent, shortened, for the audit log. */
  readonly raw: string
}

export type TargetCheck = EgressTarget | BadTarget

export type HostCheck =
  | { readonly ok: true; readonly host: string }
  | { readonly ok: false; readonly reason: "ip-literal" | "not-a-hostname" }

// Underscores are not valid in host names but do occur in real DNS records that clients reach.
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/
const NUMERIC = /^[0-9]+$/
const PORT = /^[0-9]{1,5}$/

/**
 * The canonical form of a host name, or why it is not one. IP literals are refused in every
 * spelling the URL host parser accepts (`127.1`, `0x7f.1`, `2130706433`, `[::1]`), because a grant
 * names hosts and the address checks run only on what a name resolves to.
 */
export const canonicalHost = (raw: string): HostCheck => {
  if (raw.startsWith("[")) return { ok: false, reason: raw.endsWith("]") && isIP(raw.slice(1, -1)) === 6 ? "ip-literal" : "not-a-hostname" }
  if (isIP(raw) !== 0) return { ok: false, reason: "ip-literal" }
  let host = raw.endsWith(".") ? raw.slice(0, -1) : raw
  host = domainToASCII(host)
  if (host === "") return { ok: false, reason: "not-a-hostname" }
  if (isIP(host) !== 0) return { ok: false, reason: "ip-literal" }
  if (host.length > 253) return { ok: false, reason: "not-a-hostname" }
  const labels = host.split(".")
  // A single label is only meaningful through a resolver's search list, that is inside the
  // network the proxy runs in; no grant can sensibly name one.
  if (labels.length < 2 || NUMERIC.test(labels[labels.length - 1]!)) return { ok: false, reason: "not-a-hostname" }
  for (const label of labels) if (!LABEL.test(label)) return { ok: false, reason: "not-a-hostname" }
  return { ok: true, host }
}

const shorten = (raw: string) => (raw.length > 255 ? `${raw.slice(0, 252)}...` : raw)

const withHost = (rawHost: string, port: number, raw: string): TargetCheck => {
  const host = canonicalHost(rawHost)
  return host.ok ? { ok: true, host: host.host, port } : { ok: false, status: 403, reason: host.reason, raw: shorten(raw) }
}

const parsePort = (text: string): number | undefined => {
  if (!PORT.test(text)) return undefined
  const port = Number(text)
  return port >= 1 && port <= 65_535 ? port : undefined
}

/** The authority of `CONNECT host:port`; the port is required there. */
export const connectTarget = (authority: string | undefined): TargetCheck => {
  const raw = authority ?? ""
  const colon = raw.lastIndexOf(":")
  const port = colon === -1 ? undefined : parsePort(raw.slice(colon + 1))
  if (port === undefined || colon === 0) return { ok: false, status: 400, reason: "bad-request", raw: shorten(raw) }
  return withHost(raw.slice(0, colon), port, raw)
}

/** An absolute-form request target, `http://host[:port]/path`; only plain HTTP is forwarded. */
export const forwardTarget = (requestUrl: string | undefined): { readonly target: TargetCheck; readonly url: URL | undefined } => {
  const raw = requestUrl ?? ""
  let url: URL | undefined
  try {
    url = /^http:\/\//i.test(raw) ? new URL(raw) : undefined
  } catch {
    url = undefined
  }
  if (url === undefined || url.hostname === "") {
    return { target: { ok: false, status: 400, reason: "bad-request", raw: shorten(raw) }, url: undefined }
  }
  const port = url.port === "" ? 80 : Number(url.port)
  return { target: withHost(url.hostname, port, `${url.hostname}:${port}`), url }
}

/** How the audit log names a target. */
export const targetId = (target: TargetCheck): string => (target.ok ? `${target.host}:${target.port}` : target.raw)
