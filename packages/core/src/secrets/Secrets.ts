import { Config, ConfigProvider, Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import type { SecretRef } from "../domain/Names.ts"

/** No value is configured under the reference. */
export class SecretNotFound extends Schema.TaggedError<SecretNotFound>()("NotFound", {
  name: Schema.String,
  key: Schema.String
}) {
  override get message() {
    return `secret "${this.name}" has no key "${this.key}"`
  }
}

/** The secret backend could not be read. */
export class SecretUnavailable extends Schema.TaggedError<SecretUnavailable>()("Unavailable", {
  detail: Schema.String,
  /** False when trying again cannot help (a missing permission, a malformed source). */
  retryable: Schema.Boolean,
  cause: Schema.optionalKey(Schema.Defect())
}) {
  override get message() {
    return `secrets unavailable: ${this.detail}`
  }
}

export const SecretErrorReason = Schema.Union([SecretNotFound, SecretUnavailable])
export type SecretErrorReason = typeof SecretErrorReason.Type

/**
 * The one error of the secrets boundary. Inspect `reason._tag`, or ask `isRetryable`. Its message
 * names the reference, never the value: it is for operators' logs, not for tenants.
 */
export class SecretError extends Schema.TaggedError<SecretError>()("SecretError", {
  reason: SecretErrorReason
}) {
  override get message() {
    return this.reason.message
  }
  /** A missing secret stays missing until an operator configures it; an unavailable backend may come back. */
  get isRetryable(): boolean {
    return this.reason._tag === "Unavailable" && this.reason.retryable
  }
  static notFound(ref: SecretRef) {
    return new SecretError({ reason: new SecretNotFound({ name: ref.name, key: ref.key }) })
  }
  static unavailable(detail: string, retryable: boolean, cause?: unknown) {
    return new SecretError({
      reason: new SecretUnavailable(cause === undefined ? { detail, retryable } : { detail, retryable, cause })
    })
  }
}

export const isSecretError = Schema.is(SecretError)

/** The prefix `Secrets.layerEnv` puts before every variable name unless told otherwise. */
export const DEFAULT_SECRET_ENV_PREFIX = "CLAWFLEET_SECRET_"

/**
 * The environment variable `Secrets.layerEnv` reads a reference from: the prefix, then
 * `NAME_KEY` upper-cased with every character other than a letter or digit written as `_`.
 * `{ name: "mcp/linear.app", key: "api-key" }` is `CLAWFLEET_SECRET_MCP_LINEAR_APP_API_KEY`.
 * Distinct references can share a variable (`a-b`/`c` and `a`/`b-c`); name secrets so they do not.
 */
export const secretEnvName = (ref: SecretRef, prefix: string = DEFAULT_SECRET_ENV_PREFIX): string =>
  prefix + `${ref.name}_${ref.key}`.toUpperCase().replace(/[^A-Z0-9]/g, "_")

/**
 * Where the credentials clawfleet holds on behalf of its tenants come from: API keys of MCP tools
 * and the like, named in the catalog by a `SecretRef` and resolved only server-side. Resolved on
 * every use, so a rotated secret is used from the next call on.
 */
export class Secrets extends Context.Service<
  Secrets,
  {
    /** The value under `ref`; fails with NotFound when none is configured. */
    readonly resolve: (ref: SecretRef) => Effect.Effect<Redacted.Redacted<string>, SecretError>
  }
>()("@clawfleet/core/Secrets") {
  /** Fixed values keyed `name/key` (a key holds no `/`, so the split is unambiguous): for tests and embedding. */
  static layerMemory(values: Readonly<Record<string, string>>): Layer.Layer<Secrets> {
    const map = new Map(Object.entries(values).map(([ref, value]) => [ref, Redacted.make(value)]))
    return Layer.succeed(
      Secrets,
      Secrets.of({
        resolve: (ref) => {
          const found = map.get(`${ref.name}/${ref.key}`)
          return found === undefined ? Effect.fail(SecretError.notFound(ref)) : Effect.succeed(found)
        }
      })
    )
  }

  /**
   * Reads each reference from the variable `secretEnvName(ref, prefix)` names, through the
   * `ConfigProvider` in context when the layer is built (the process environment by default, so a
   * provider of your own can stand in for it). An empty variable counts as missing.
   */
  static layerEnv(options: { readonly prefix?: string | undefined } = {}): Layer.Layer<Secrets> {
    const prefix = options.prefix ?? DEFAULT_SECRET_ENV_PREFIX
    return Layer.effect(
      Secrets,
      Effect.gen(function* () {
        const provider = yield* ConfigProvider.ConfigProvider
        return Secrets.of({
          resolve: (ref) =>
            Config.option(Config.Redacted(secretEnvName(ref, prefix)))
              .parse(provider)
              .pipe(
                Effect.mapError((e) => SecretError.unavailable(e.message, e.cause._tag === "SourceError", e)),
                Effect.flatMap(Option.match({ onNone: () => Effect.fail(SecretError.notFound(ref)), onSome: Effect.succeed }))
              )
        })
      })
    )
  }
}
