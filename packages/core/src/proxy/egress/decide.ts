import { Effect } from "effect"
import type { TenantGate, TenantIdentity } from "../TenantGate.ts"
import type { AddressFilter } from "./addressRules.ts"
import { type TargetCheck, targetId } from "./hostRules.ts"

/** What `dns.promises.lookup(host, { all: true })` answers. */
export interface ResolvedAddress {
  readonly address: string
  readonly family: number
}

/** The shape of `dns.promises.lookup` with `{ all: true }`, so tests and operators can swap the resolver. */
export type EgressLookup = (hostname: string, options: { readonly all: true }) => Promise<ReadonlyArray<ResolvedAddress>>

export type DenyReason =
  | "missing-credentials"
  | "unknown-token"
  | "bad-request"
  | "ip-literal"
  | "not-a-hostname"
  | "port-not-allowed"
  | "not-granted"
  | "unresolvable"
  | "resolve-timeout"
  | "private-address"

export type Verdict =
  | {
      readonly allow: true
      readonly identity: TenantIdentity
      readonly host: string
      readonly port: number
      /** Every address the name resolved to, all of them vetted; connect to these, never to the name. */
      readonly addresses: ReadonlyArray<ResolvedAddress>
    }
  | { readonly allow: false; readonly status: 400 | 403 | 407 | 502 | 503 | 504; readonly reason: DenyReason | "gate-unavailable" }

export interface DecideConfig {
  readonly gate: TenantGate["Service"]
  readonly ports: ReadonlySet<number>
  readonly lookup: EgressLookup
  readonly addressAllowed: AddressFilter
  readonly resolveTimeoutMs: number
}

const STATUS: Record<DenyReason, 400 | 403 | 407 | 502 | 504> = {
  "missing-credentials": 407,
  "unknown-token": 407,
  "bad-request": 400,
  "ip-literal": 403,
  "not-a-hostname": 403,
  "port-not-allowed": 403,
  "not-granted": 403,
  unresolvable: 502,
  "resolve-timeout": 504,
  "private-address": 403
}

/**
 * The token from `Proxy-Authorization`: `Basic base64(anything:TOKEN)`, which is what clients
 * build from `http://user:TOKEN@proxy`, or `Bearer TOKEN`.
 */
export const proxyToken = (header: string | undefined): string | undefined => {
  if (header === undefined) return undefined
  const space = header.indexOf(" ")
  if (space === -1) return undefined
  const scheme = header.slice(0, space).toLowerCase()
  const credentials = header.slice(space + 1).trim()
  let token: string | undefined
  if (scheme === "bearer") token = credentials
  else if (scheme === "basic") {
    const decoded = Buffer.from(credentials, "base64").toString("utf8")
    const colon = decoded.indexOf(":")
    token = colon === -1 ? undefined : decoded.slice(colon + 1)
  }
  return token === undefined || token === "" ? undefined : token
}

/**
 * A wall-clock deadline, like the connect timeout: not Effect's Clock, which a test clock would
 * stop. A failed lookup counts as no address.
 */
const resolveWithin = (lookup: EgressLookup, host: string, ms: number): Promise<ReadonlyArray<ResolvedAddress> | "timeout"> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve("timeout"), ms)
    lookup(host, { all: true }).then(
      (found) => {
        clearTimeout(timer)
        resolve(found)
      },
      () => {
        clearTimeout(timer)
        resolve([])
      }
    )
  })

/**
 * Decides one connection or request. Order matters: nothing is looked at before the token is
 * known, and a name is resolved only once the tenant may reach it, so a tenant cannot use the
 * proxy's resolver to probe or to leak data through DNS. Every decision is audited before it is
 * acted on; when the gate cannot answer or record, the answer is 503 and nothing goes through.
 */
export const makeDecide = (config: DecideConfig) => {
  const { gate } = config
  return (authorization: string | undefined, target: TargetCheck): Effect.Effect<Verdict> =>
    Effect.gen(function* () {
      const id = targetId(target)
      const token = proxyToken(authorization)
      const identity = token === undefined ? undefined : yield* gate.authenticate(token)
      const actor = identity === undefined ? "anonymous" : `tenant:${identity.tenant}`
      const deny = (reason: DenyReason, after?: unknown) =>
        gate
          .audit({
            actor,
            action: "egress.deny",
            target: { kind: "egress", id },
            decision: reason,
            ...(after === undefined ? {} : { after })
          })
          .pipe(Effect.as<Verdict>({ allow: false, status: STATUS[reason], reason }))

      if (identity === undefined) return yield* deny(token === undefined ? "missing-credentials" : "unknown-token")
      if (!target.ok) return yield* deny(target.reason)
      if (!config.ports.has(target.port)) return yield* deny("port-not-allowed")
      if (!(yield* gate.allowsEgress(identity, target.host))) return yield* deny("not-granted")

      const addresses = yield* Effect.promise(() => resolveWithin(config.lookup, target.host, config.resolveTimeoutMs))
      if (addresses === "timeout") return yield* deny("resolve-timeout")
      if (addresses.length === 0) return yield* deny("unresolvable")
      // One bad answer taints the name: a resolver that mixes a public and a private address is
      // exactly how a rebinding attack would try to slip past a check of the first answer only.
      if (!addresses.every((a) => config.addressAllowed(a.address))) {
        return yield* deny("private-address", { addresses: addresses.map((a) => a.address) })
      }

      yield* gate.audit({
        actor,
        action: "egress.allow",
        target: { kind: "egress", id },
        decision: "allowed",
        after: { addresses: addresses.map((a) => a.address) }
      })
      return { allow: true, identity, host: target.host, port: target.port, addresses } satisfies Verdict
    }).pipe(
      Effect.catchCause((cause) =>
        Effect.logWarning("egress proxy: the tenant gate failed; refusing", cause).pipe(
          Effect.as<Verdict>({ allow: false, status: 503, reason: "gate-unavailable" })
        )
      )
    )
}

/** What the CONNECT and forwarding handlers share. */
export interface HandlerDeps {
  /** Runs `decide` on the services captured when the proxy was built; never rejects. */
  readonly decide: (authorization: string | undefined, target: TargetCheck) => Promise<Verdict>
  readonly connectTimeoutMs: number
  readonly idleTimeoutMs: number
}
