import { Context, Duration, Effect, Layer, Redacted, Schedule, Schema } from "effect"
import { Directory } from "../Directory.ts"
import type { StoreError, ValidationError } from "../Errors.ts"
import { Fleet, type FleetError } from "../Fleet.ts"
import { Tokens } from "../identity/Tokens.ts"
import { withActor } from "../RequestContext.ts"
import { Tenants } from "../Tenants.ts"
import { agentAudience } from "./AgentApi.ts"
import { PAIR_PATH } from "./TenantAgent.ts"

export const PairingErrorReason = Schema.Literals([
  /** Neither the tenant's owner nor an administrator. */
  "Forbidden",
  /** The requester or the tenant's owner is disabled. */
  "Disabled",
  /** The tenant did not become Ready in time (it may still: try again). */
  "NotReady",
  /** Ready, but its provider reported no endpoint to link to. */
  "NoEndpoint",
  "Deleting"
])

/** Why a pairing link could not be made. */
export class PairingError extends Schema.TaggedError<PairingError>()("PairingError", {
  reason: PairingErrorReason,
  tenant: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `no pairing link for tenant "${this.tenant}" (${this.reason}): ${this.detail}`
  }
  get isRetryable(): boolean {
    return this.reason === "NotReady"
  }
}

export interface PairingRequest {
  readonly tenant: string
  /** Who asks: a person, and whether they administer the fleet. */
  readonly requester: { readonly person: string; readonly admin: boolean }
  /** How long to wait for a suspended or starting tenant to become Ready. Default 2 minutes. */
  readonly waitMs?: number | undefined
}

export interface PairingLink {
  /** The tenant's endpoint with a single-use, audience-bound token: open it in a browser. */
  readonly url: Redacted.Redacted<string>
  readonly expiresAt: number
}

/**
 * Pairing links: what `POST /tenants/{name}/pairing` answers. Only the owner or an administrator
 * gets one; a suspended tenant is resumed first, and the link is returned once the tenant is Ready,
 * pointing at its endpoint with a ten-minute token only that tenant's agent accepts, once.
 */
export class PairingLinks extends Context.Service<
  PairingLinks,
  { readonly create: (request: PairingRequest) => Effect.Effect<PairingLink, PairingError | FleetError | StoreError> }
>()("@clawfleet/core/PairingLinks") {
  static readonly layer = Layer.effect(
    PairingLinks,
    Effect.gen(function* () {
      const fleet = yield* Fleet
      const tenants = yield* Tenants
      const directory = yield* Directory
      const tokens = yield* Tokens
      return PairingLinks.of({
        create: Effect.fn("PairingLinks.create")(function* (request) {
          const refuse = (reason: typeof PairingErrorReason.Type, detail: string) =>
            new PairingError({ reason, tenant: request.tenant, detail })
          const tenant = (yield* tenants.get(request.tenant)).value
          const owner = tenant.spec.owner
          if (!request.requester.admin && request.requester.person !== owner) {
            return yield* refuse("Forbidden", "only the tenant's owner or an administrator may pair with it")
          }
          const requester = yield* directory.people.find(request.requester.person)
          if (requester === undefined || requester.value.disabled) return yield* refuse("Disabled", "the requester is disabled")
          if (tenant.deletionRequestedAt !== undefined) return yield* refuse("Deleting", "the tenant is being deleted")
          if (tenant.spec.suspended) {
            yield* fleet.resumeTenant(request.tenant).pipe(withActor(`person:${request.requester.person}`, undefined))
          }
          // The reconciler brings it up; the caller waits for Ready rather than get a dead link.
          const ready = yield* tenants.get(request.tenant).pipe(
            Effect.map((t) => t.value),
            Effect.repeat({
              schedule: Schedule.spaced(Duration.millis(250)),
              until: (t) => t.status.phase === "Ready" || t.status.phase === "Failed"
            }),
            Effect.timeoutOption(Duration.millis(request.waitMs ?? 120_000))
          )
          if (ready._tag === "None" || ready.value.status.phase !== "Ready") {
            return yield* refuse("NotReady", "the tenant is not Ready yet")
          }
          const endpoint = ready.value.status.endpoint
          if (endpoint === undefined) return yield* refuse("NoEndpoint", "the tenant's provider reported no endpoint")
          // Bound to whoever asked, so the agent's session and the audit name the administrator
          // when it was one.
          const issued = yield* tokens
            .issuePairing({
              person: request.requester.person,
              tenant: request.tenant,
              audience: agentAudience(request.tenant),
              ttlSeconds: 600
            })
            .pipe(Effect.catchIf((e): e is ValidationError => e._tag === "ValidationError", Effect.die))
          const url = `${endpoint.replace(/\/$/, "")}${PAIR_PATH}?token=${Redacted.value(issued.token)}`
          return { url: Redacted.make(url), expiresAt: issued.claims.expiresAt }
        })
      })
    })
  )
}
