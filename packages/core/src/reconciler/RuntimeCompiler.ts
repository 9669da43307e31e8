import { Context, Effect, Layer, Schema } from "effect"
import type { Tenant } from "../domain/Tenant.ts"
import type { StoreError } from "../Errors.ts"
import { type EffectiveAccess, Grants } from "../grants/Grants.ts"
import type { TenantRuntime } from "../provider/TenantRuntime.ts"

/** A tenant that cannot be compiled as it stands (an unsupported OpenClaw version, a bad default model). */
export class CompileError extends Schema.TaggedError<CompileError>()("CompileError", {
  tenant: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `tenant "${this.tenant}" cannot be compiled: ${this.detail}`
  }
  get isRetryable(): boolean {
    return false
  }
}

/** Environment variables the workload reads its platform secrets from; the config names them. */
export const SecretEnv = {
  gatewayToken: "CLAWFLEET_GATEWAY_TOKEN",
  modelKey: "CLAWFLEET_MODEL_KEY",
  toolToken: "CLAWFLEET_TOOL_TOKEN",
  telegramBotToken: "CLAWFLEET_TELEGRAM_BOT_TOKEN",
  slackBotToken: "CLAWFLEET_SLACK_BOT_TOKEN",
  slackAppToken: "CLAWFLEET_SLACK_APP_TOKEN"
} as const

export type RenderConfig = (input: {
  readonly tenant: Tenant
  readonly access: EffectiveAccess
  readonly env: typeof SecretEnv
}) => Effect.Effect<Readonly<Record<string, unknown>>, CompileError>

/** Turns a stored tenant into the runtime a provider applies: access compiled, config rendered. */
export class RuntimeCompiler extends Context.Service<
  RuntimeCompiler,
  { readonly compile: (tenant: Tenant) => Effect.Effect<TenantRuntime, CompileError | StoreError> }
>()("@clawfleet/core/RuntimeCompiler") {
  /** With the config renderer you give (the OpenClaw renderer in production, a stub in tests). */
  static readonly layerWith = (render: RenderConfig) =>
    Layer.effect(
      RuntimeCompiler,
      Effect.gen(function* () {
        const grants = yield* Grants
        return RuntimeCompiler.of({
          // Untraced: it runs on every reconcile pass, and a traced call captures a stack each time.
          compile: Effect.fnUntraced(function* (tenant: Tenant) {
            const access = yield* grants.accessOf(tenant)
            const config = yield* render({ tenant, access, env: SecretEnv })
            const platform = (key: string) => ({ name: `clawfleet-tenant-${tenant.name}`, key })
            const channels = tenant.spec.channels
            const secrets = [
              { env: SecretEnv.gatewayToken, ref: platform("gateway-token") },
              { env: SecretEnv.modelKey, ref: platform("model-key") },
              { env: SecretEnv.toolToken, ref: platform("tool-token") },
              ...(channels.telegram ? [{ env: SecretEnv.telegramBotToken, ref: channels.telegram.botToken }] : []),
              ...(channels.slack
                ? [
                    { env: SecretEnv.slackBotToken, ref: channels.slack.botToken },
                    { env: SecretEnv.slackAppToken, ref: channels.slack.appToken }
                  ]
                : [])
            ]
            return {
              tenant: tenant.name,
              generation: tenant.generation,
              owner: tenant.spec.owner,
              spec: tenant.spec,
              access,
              openclaw: { version: tenant.spec.openclaw.version, image: tenant.spec.openclaw.image, config },
              secrets,
              suspended: tenant.spec.suspended
            } satisfies TenantRuntime
          })
        })
      })
    )
}
