import { randomUUID } from "node:crypto"
import { Clock, Context, DateTime, Effect, Layer, Redacted, Schema } from "effect"
import { errors, type JWTPayload, jwtVerify, SignJWT } from "jose"
import { Directory } from "../Directory.ts"
import { type StoreError, ValidationError } from "../Errors.ts"
import { RecordStore } from "../store/RecordStore.ts"
import { makeRepository, type Repository } from "../store/Repository.ts"
import { makeRevisionCache } from "../store/revisionCache.ts"
import { Tenants } from "../Tenants.ts"
import { SigningKeys } from "./SigningKeys.ts"
import { TokenError } from "./TokenError.ts"

/** What a verified token says. */
export interface TokenClaims {
  readonly kind: "access" | "pairing"
  readonly issuer: string
  readonly audience: string
  readonly subject: string
  readonly tenant?: string | undefined
  readonly person?: string | undefined
  readonly scope: ReadonlyArray<string>
  readonly jti: string
  /** Epoch milliseconds. */
  readonly issuedAt: number
  readonly expiresAt: number
}

export interface IssueRequest {
  /** Who the token is for: one service, e.g. `clawfleet-agent:ada` or `clawfleet-broker`. */
  readonly audience: string
  readonly subject: string
  /** Binds the token to a tenant: revoked with the tenant's epoch. */
  readonly tenant?: string | undefined
  /** Binds the token to a person: refused once they are disabled or their epoch moves. */
  readonly person?: string | undefined
  readonly scope?: ReadonlyArray<string> | undefined
  /** 1–600; default 300. */
  readonly ttlSeconds?: number | undefined
}

export interface IssuedToken {
  readonly token: Redacted.Redacted<string>
  readonly claims: TokenClaims
}

/** A revocation epoch: tokens issued before it moved on are refused. */
export class RevocationEpoch extends Schema.Class<RevocationEpoch>("@clawfleet/core/RevocationEpoch")({
  id: Schema.String,
  epoch: Schema.Int
}) {}

/** A pairing token's single use. */
export class PairingCode extends Schema.Class<PairingCode>("@clawfleet/core/PairingCode")({
  id: Schema.String,
  person: Schema.String,
  tenant: Schema.String,
  expiresAt: Schema.DateTimeUtcFromString,
  usedAt: Schema.optionalKey(Schema.DateTimeUtcFromString)
}) {}

export const MAX_TTL_SECONDS = 600
const CLOCK_TOLERANCE_SECONDS = 5

const invalid = (path: string, message: string) => new ValidationError({ subject: "token request", issues: [{ path, message }] })

// jose's errors, in the words of our reasons. Anything else it throws is a malformed token.
const reasonOf = (error: unknown): TokenError => {
  if (error instanceof TokenError) return error
  if (error instanceof errors.JWTExpired) return TokenError.of("Expired", "the token has expired")
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf" || error.claim === "iat") return TokenError.of("NotYetValid", "the token is not valid yet")
    if (error.claim === "aud") return TokenError.of("WrongAudience", "the token is for another audience")
    if (error.claim === "iss") return TokenError.of("WrongIssuer", "the token is from another issuer")
    return TokenError.of("InvalidClaims", `claim ${error.claim} is missing or invalid`)
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return TokenError.of("UnsupportedAlgorithm", "only EdDSA-signed tokens are accepted")
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return TokenError.of("BadSignature", "the signature does not verify")
  return TokenError.of("Malformed", "not a well-formed signed token")
}

/**
 * Short-lived, audience-bound tokens signed with EdDSA: a pairing link, a tenant agent's session,
 * a call to a broker. Each carries its tenant's and person's revocation epochs, so revoking is
 * moving an epoch, seen by the next verification on every replica.
 */
export class Tokens extends Context.Service<
  Tokens,
  {
    readonly issue: (request: IssueRequest) => Effect.Effect<IssuedToken, StoreError | ValidationError>
    readonly verify: (token: string, options: { readonly audience: string }) => Effect.Effect<TokenClaims, TokenError | StoreError>
    /** Refuses every token of the tenant issued until now. */
    readonly revokeTenant: (tenant: string) => Effect.Effect<void, StoreError>
    /** Refuses every token of the person issued until now. */
    readonly revokePerson: (person: string) => Effect.Effect<void, StoreError>
    /** A single-use token that pairs `person`'s browser with `tenant`'s assistant. Fails with NotFound for an unknown person or tenant. */
    readonly issuePairing: (request: {
      readonly person: string
      readonly tenant: string
      readonly audience: string
      readonly ttlSeconds?: number | undefined
    }) => Effect.Effect<IssuedToken, StoreError | ValidationError>
    /** Verifies a pairing token and uses it up: a second redemption is `Reused`. */
    readonly redeemPairing: (token: string, options: { readonly audience: string }) => Effect.Effect<TokenClaims, TokenError | StoreError>
  }
>()("@clawfleet/core/Tokens") {
  static layer(options: { readonly issuer: string }): Layer.Layer<Tokens, never, SigningKeys | RecordStore | Directory | Tenants> {
    return Layer.effect(
      Tokens,
      Effect.gen(function* () {
        const keys = yield* SigningKeys
        const store = yield* RecordStore
        const directory = yield* Directory
        const tenants = yield* Tenants
        const epochs: Repository<RevocationEpoch, "revocation_epochs"> = yield* makeRepository(
          "revocation_epochs",
          RevocationEpoch,
          (e) => e.id
        )
        const pairings: Repository<PairingCode, "pairing_codes"> = yield* makeRepository("pairing_codes", PairingCode, (p) => p.id)
        // Epochs and who is disabled, read again only when either table moved.
        const standing = yield* makeRevisionCache(
          store,
          ["revocation_epochs", "people"],
          Effect.map(Effect.all([epochs.all, directory.people.all]), ([es, people]) => ({
            epochs: new Map(es.map((e) => [e.value.id, e.value.epoch])),
            enabled: new Set(people.filter((p) => !p.value.disabled).map((p) => p.value.id as string))
          }))
        )
        const epochOf = (map: ReadonlyMap<string, number>, id: string | undefined) => (id === undefined ? 0 : (map.get(id) ?? 0))

        const bump = (id: string) =>
          Effect.gen(function* () {
            const found = yield* epochs.find(id)
            if (found === undefined) yield* epochs.create(new RevocationEpoch({ id, epoch: 1 }), { action: "tokens.revoke" })
            else yield* epochs.modify(id, (e) => new RevocationEpoch({ ...e, epoch: e.epoch + 1 }), { action: "tokens.revoke" })
          }).pipe(Effect.retry({ times: 3, while: (e) => e.isRetryable }))

        const sign = Effect.fnUntraced(function* (request: IssueRequest, kind: TokenClaims["kind"], jti: string) {
          const ttl = request.ttlSeconds ?? 300
          if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) {
            return yield* invalid("ttlSeconds", `must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}`)
          }
          if (request.audience === "") return yield* invalid("audience", "must not be empty")
          const set = yield* keys.current
          const { epochs: current } = yield* standing
          const now = yield* Clock.currentTimeMillis
          const iat = Math.floor(now / 1000)
          const payload: JWTPayload = {
            cf_kind: kind,
            ...(request.tenant !== undefined ? { cf_t: request.tenant, cf_te: epochOf(current, `tenant:${request.tenant}`) } : {}),
            ...(request.person !== undefined ? { cf_p: request.person, cf_pe: epochOf(current, `person:${request.person}`) } : {}),
            ...(request.scope !== undefined && request.scope.length > 0 ? { scope: request.scope.join(" ") } : {})
          }
          const token = yield* Effect.promise(() =>
            new SignJWT(payload)
              .setProtectedHeader({ alg: "EdDSA", kid: set.signer!.kid, typ: "JWT" })
              .setIssuer(options.issuer)
              .setAudience(request.audience)
              .setSubject(request.subject)
              .setIssuedAt(iat)
              .setNotBefore(iat)
              .setExpirationTime(iat + ttl)
              .setJti(jti)
              .sign(set.signer!.privateKey)
          )
          const claims: TokenClaims = {
            kind,
            issuer: options.issuer,
            audience: request.audience,
            subject: request.subject,
            tenant: request.tenant,
            person: request.person,
            scope: request.scope ?? [],
            jti,
            issuedAt: iat * 1000,
            expiresAt: (iat + ttl) * 1000
          }
          return { token: Redacted.make(token), claims }
        })

        const verify = Effect.fnUntraced(function* (token: string, audience: string) {
          const set = yield* keys.current
          const now = yield* Clock.currentTimeMillis
          const result = yield* Effect.tryPromise({
            try: () =>
              jwtVerify(
                token,
                (header) => {
                  const key = header.kid === undefined ? undefined : set.verifiers.get(header.kid)
                  if (key === undefined) throw TokenError.of("UnknownKey", "the token's key is not published by this issuer")
                  return key
                },
                {
                  issuer: options.issuer,
                  audience,
                  algorithms: ["EdDSA"],
                  currentDate: new Date(now),
                  clockTolerance: CLOCK_TOLERANCE_SECONDS,
                  requiredClaims: ["exp", "iat", "nbf", "jti", "sub"]
                }
              ),
            catch: reasonOf
          })
          const p = result.payload
          const kind = p.cf_kind
          if (kind !== "access" && kind !== "pairing") return yield* TokenError.of("InvalidClaims", "the token has no known kind")
          const tenant = typeof p.cf_t === "string" ? p.cf_t : undefined
          const person = typeof p.cf_p === "string" ? p.cf_p : undefined
          const { epochs: current, enabled } = yield* standing
          if (tenant !== undefined && p.cf_te !== epochOf(current, `tenant:${tenant}`)) {
            return yield* TokenError.of("Revoked", "the tenant's tokens were revoked")
          }
          if (person !== undefined) {
            if (!enabled.has(person)) return yield* TokenError.of("Disabled", "the person is disabled or gone")
            if (p.cf_pe !== epochOf(current, `person:${person}`)) return yield* TokenError.of("Revoked", "the person's tokens were revoked")
          }
          return {
            kind,
            issuer: p.iss!,
            audience,
            subject: p.sub!,
            tenant,
            person,
            scope: typeof p.scope === "string" && p.scope !== "" ? p.scope.split(" ") : [],
            jti: p.jti!,
            issuedAt: p.iat! * 1000,
            expiresAt: p.exp! * 1000
          } satisfies TokenClaims
        })

        return Tokens.of({
          issue: (request) => sign(request, "access", randomUUID()),
          verify: (token, { audience }) =>
            Effect.flatMap(verify(token, audience), (claims) =>
              claims.kind === "access"
                ? Effect.succeed(claims)
                : Effect.fail(TokenError.of("InvalidClaims", "a pairing token is not an access token"))
            ),
          revokeTenant: (tenant) => bump(`tenant:${tenant}`),
          revokePerson: (person) => bump(`person:${person}`),
          issuePairing: Effect.fn("Tokens.issuePairing")(function* (request) {
            yield* directory.people.get(request.person)
            yield* tenants.get(request.tenant)
            const jti = randomUUID()
            const issued = yield* sign({ ...request, subject: request.person }, "pairing", jti)
            yield* pairings.create(
              new PairingCode({
                id: jti,
                person: request.person,
                tenant: request.tenant,
                expiresAt: DateTime.makeUnsafe(issued.claims.expiresAt)
              }),
              { action: "pairing.issue" }
            )
            return issued
          }),
          redeemPairing: Effect.fn("Tokens.redeemPairing")(function* (token, { audience }) {
            const claims = yield* verify(token, audience)
            if (claims.kind !== "pairing") return yield* TokenError.of("InvalidClaims", "not a pairing token")
            const found = yield* pairings.find(claims.jti)
            if (found === undefined) return yield* TokenError.of("InvalidClaims", "no such pairing was issued")
            if (found.value.usedAt !== undefined) return yield* TokenError.of("Reused", "the pairing link was already used")
            const used = new PairingCode({ ...found.value, usedAt: DateTime.makeUnsafe(yield* Clock.currentTimeMillis) })
            // The version check makes the use single even between replicas: of two, one gets Conflict.
            yield* pairings.update(used, found.version, { action: "pairing.redeem" }).pipe(
              Effect.catchIf(
                (e): e is StoreError => e._tag === "StoreError" && e.reason._tag === "Conflict",
                () => Effect.fail(TokenError.of("Reused", "the pairing link was already used"))
              )
            )
            return claims
          })
        })
      })
    )
  }
}
