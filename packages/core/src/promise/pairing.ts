import { Effect, Layer, Option, Redacted, Schema } from "effect"
import { PairingLinks } from "../agent/PairingLinks.ts"
import { Directory } from "../Directory.ts"
import type { Person } from "../domain/Directory.ts"
import { DnsLabel, TenantName } from "../domain/Names.ts"
import { ValidationError } from "../Errors.ts"
import { decode } from "../fleet/internal.ts"
import { SigningKeys } from "../identity/SigningKeys.ts"
import { Tokens } from "../identity/Tokens.ts"

export interface PairingOptions {
  /**
   * The control plane's public URL (the server's `publicUrl`), e.g. `https://clawfleet.example.com`.
   * Tenant agents accept only tokens issued under its origin, so links signed under another are dead.
   */
  readonly controlPlaneUrl: string
  /**
   * The control plane's key-encryption key (32 bytes, base64): its signing keys are sealed with it
   * in the shared store, and a link must be signed with them.
   */
  readonly keyEncryptionKey?: string | undefined
  /** Who administers the fleet and may open any tenant. Default: nobody, only owners. */
  readonly isAdmin?: ((person: Person) => boolean) | undefined
}

export interface PairingLinkRequest {
  /** Who the link is for: the tenant's owner, or an administrator by `isAdmin`. The link opens as them. */
  readonly person: string
  /** How long to wait for a suspended or starting tenant to become Ready. Default 2 minutes. */
  readonly waitMs?: number | undefined
}

export interface PairingLinkResult {
  /** Open it in the person's browser. It is a credential: send it to them only, never log it. */
  readonly url: string
  /** It works once, until then. */
  readonly expiresAt: Date
}

/** The services behind pairing links, signing as the control plane at `controlPlaneUrl` does. */
export const pairingLayer = (options: PairingOptions) => {
  const url = URL.parse(options.controlPlaneUrl)
  if (url === null || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new ValidationError({
      subject: "options",
      issues: [{ path: "pairing.controlPlaneUrl", message: "must be an http(s) URL such as https://clawfleet.example.com" }]
    })
  }
  const kek = options.keyEncryptionKey === undefined ? undefined : Redacted.make(options.keyEncryptionKey)
  return PairingLinks.layer.pipe(
    Layer.provideMerge(Tokens.layer({ issuer: url.origin })),
    Layer.provideMerge(SigningKeys.layer({ keyEncryptionKey: kek }))
  )
}

const Request = Schema.Struct({
  tenant: TenantName,
  person: DnsLabel,
  waitMs: Schema.optional(
    Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 600_000 }, { message: "must be 0 to 600000 milliseconds" }))
  )
})

/**
 * A fresh pairing link to `tenant` for `request.person`. `PairingLinks` decides, as for the
 * control plane's own routes: only the owner, or an administrator by `isAdmin`, gets one.
 */
export const makePairingLink = (isAdmin: PairingOptions["isAdmin"]) =>
  Effect.fn("Clawfleet.pairingLink")(function* (tenant: string, request: PairingLinkRequest) {
    const links = yield* Effect.serviceOption(PairingLinks)
    if (Option.isNone(links)) {
      return yield* Effect.die(
        new Error(
          "pairingLink needs createClawfleet({ pairing: { controlPlaneUrl } }): the control plane whose tenant agents redeem the links"
        )
      )
    }
    const input = yield* decode(Request, "pairing request")({ ...request, tenant })
    const requester = yield* (yield* Directory).people.find(input.person)
    const admin = requester !== undefined && (isAdmin?.(requester.value) ?? false)
    const link = yield* links.value.create({ tenant: input.tenant, requester: { person: input.person, admin }, waitMs: input.waitMs })
    return { url: Redacted.value(link.url), expiresAt: new Date(link.expiresAt) } satisfies PairingLinkResult
  })
