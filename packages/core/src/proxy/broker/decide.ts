import { Cause, Effect, Option, type Redacted } from "effect"
import type { Tool } from "../../domain/Catalog.ts"
import type { StoreError } from "../../Errors.ts"
import type { PersonCredentials } from "../../secrets/PersonCredentials.ts"
import type { Secrets } from "../../secrets/Secrets.ts"
import type { TenantGate, TenantIdentity } from "../TenantGate.ts"
import { isRefusal, type Refusal, refusal, UNAUTHENTICATED, UNAVAILABLE } from "./refusal.ts"

/** What a request may do once admitted: reach this tool, as this tenant. */
export interface Admitted {
  readonly identity: TenantIdentity
  readonly tool: Tool
}

export interface Permitted extends Admitted {
  /** Sent upstream as a Bearer token; undefined for a tool that takes none. */
  readonly credential: Redacted.Redacted<string> | undefined
}

export interface DecideConfig {
  readonly gate: TenantGate["Service"]
  readonly secrets: Secrets["Service"]
  /** Where per-person tools find their owner's token; undefined refuses every per-person tool. */
  readonly personCredentials: PersonCredentials["Service"] | undefined
  /** Whether the catalog has the tool at all, to tell an unknown tool (404) from one not granted (403). */
  readonly toolExists: (name: string) => Effect.Effect<boolean, StoreError>
}

const NOT_CONFIGURED = refusal(502, "The tool's credential is not configured; an administrator must set it.")
const SECRETS_DOWN = refusal(503, "The tool broker cannot read the tool's credential right now. Try again shortly.", {
  "retry-after": "1"
})
const PERSONAL_UNCONFIGURED = refusal(
  502,
  "This tool acts as each person, but per-person credentials are not configured on the tool broker; an administrator must set them up."
)
const NOT_CONNECTED = refusal(
  502,
  "The owner of this assistant has not connected this tool, or their connection has expired; they must connect it first."
)
const PERSONAL_UNREADABLE = refusal(
  502,
  "The stored connection to this tool cannot be used; its owner must connect the tool again, or an administrator must check the broker's key."
)

/** The virtual key of `Authorization: Bearer <key>`; no other scheme or header is taken. */
const bearerKey = (authorization: string | undefined): string | undefined => /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1]

/**
 * Decides one request. The key is checked before anything else is looked at, the grant on every
 * request (not once per MCP session), so a revoked key or grant refuses the very next call. Every
 * refusal of a known tenant is audited before it is sent; when the gate cannot answer or record,
 * the answer is 503 and nothing goes through.
 */
export const makeDecide = (config: DecideConfig) => {
  const { gate, secrets, personCredentials } = config

  const admit = (authorization: string | undefined, name: string): Effect.Effect<Admitted | Refusal> =>
    Effect.gen(function* () {
      const key = bearerKey(authorization)
      const identity = key === undefined ? undefined : yield* gate.authenticate(key)
      // Not audited: with no tenant to name, a flood of bad keys would only fill the audit chain.
      if (identity === undefined) return UNAUTHENTICATED
      const tool = yield* gate.grantedTool(identity, name)
      if (tool !== undefined) return { identity, tool } satisfies Admitted
      const unknown = !(yield* config.toolExists(name))
      yield* gate.audit({
        actor: `tenant:${identity.tenant}`,
        action: "tool.deny",
        target: { kind: "tool", id: name },
        decision: unknown ? "unknown-tool" : "not-granted"
      })
      return unknown ? refusal(404, `There is no tool "${name}".`) : refusal(403, `This assistant is not granted the tool "${name}".`)
    }).pipe(
      Effect.catchCause((cause) =>
        Effect.logWarning("tool broker: the tenant gate failed; refusing", cause).pipe(Effect.as<Refusal>(UNAVAILABLE))
      )
    )

  // The reason is logged for operators; the tenant hears only that the credential is missing,
  // never which secret it would have been.
  const sharedCredential = (tool: Tool): Effect.Effect<Redacted.Redacted<string> | undefined | Refusal> =>
    tool.credential === undefined
      ? Effect.undefined
      : secrets.resolve(tool.credential).pipe(
          Effect.catchCause((cause) => {
            const missing = Option.exists(Cause.findErrorOption(cause), (e) => e.reason._tag === "NotFound")
            return Effect.logWarning(`tool broker: cannot resolve the credential of tool "${tool.name}"`, cause).pipe(
              Effect.as(missing ? NOT_CONFIGURED : SECRETS_DOWN)
            )
          })
        )

  // The owner's, not the tenant's: a person's token acts as them in whichever assistant is theirs.
  const personalCredential = (identity: TenantIdentity, tool: Tool): Effect.Effect<Redacted.Redacted<string> | Refusal> =>
    personCredentials === undefined
      ? Effect.succeed(PERSONAL_UNCONFIGURED)
      : personCredentials.get(tool.name, identity.owner).pipe(
          Effect.map((token) => token ?? NOT_CONNECTED),
          Effect.catchCause((cause) => {
            const retryable = Option.exists(Cause.findErrorOption(cause), (e) => e.isRetryable)
            return Effect.logWarning(`tool broker: cannot read the per-person credential of tool "${tool.name}"`, cause).pipe(
              Effect.as(retryable ? SECRETS_DOWN : PERSONAL_UNREADABLE)
            )
          })
        )

  const credentialOf = (admitted: Admitted) =>
    admitted.tool.credentialMode === "per-person" ? personalCredential(admitted.identity, admitted.tool) : sharedCredential(admitted.tool)

  return {
    admit,
    /** Admits the request and resolves the tool's credential. */
    permit: (authorization: string | undefined, name: string): Effect.Effect<Permitted | Refusal> =>
      Effect.gen(function* () {
        const admitted = yield* admit(authorization, name)
        if (isRefusal(admitted)) return admitted
        const credential = yield* credentialOf(admitted)
        if (isRefusal(credential)) return credential
        return { ...admitted, credential } satisfies Permitted
      })
  }
}
