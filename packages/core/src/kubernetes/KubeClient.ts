import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node"
import { Context, Effect, Layer, Random } from "effect"
import { ProviderError, type ProviderErrorReason } from "../provider/ProviderError.ts"
import { type Kind, Kinds, type KubeObject, objectKey } from "./KubeObject.ts"
import { makeRateLimiter } from "./RateLimiter.ts"

export interface KubeClientOptions {
  readonly kubeConfig: KubeConfig
  /** The provider name errors carry. */
  readonly provider: string
  /** Server-side apply field manager. Default `clawfleet`. */
  readonly fieldManager?: string | undefined
  /** Take fields another manager owns instead of reporting the conflict. Default false. */
  readonly force?: boolean | undefined
  /** Client-side rate limit. Defaults 50 requests a second with bursts of 100 (client-go's 5/10 is too slow for a fleet). */
  readonly qps?: number | undefined
  readonly burst?: number | undefined
  /** Retries of 409 (resource version), 429 and 5xx answers and network failures. Default 5, from 200 ms to 10 s. */
  readonly retry?: { readonly times: number; readonly baseMs: number; readonly capMs: number } | undefined
}

export interface ObjectRef {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: { readonly name: string; readonly namespace?: string | undefined }
}

/**
 * The few calls a provider makes, over `@kubernetes/client-node`: server-side apply with our
 * field manager, idempotent delete, list by label. Every call waits for the rate limiter and
 * retries what may pass; every failure is a `ProviderError` naming the object.
 */
export class KubeClient extends Context.Service<
  KubeClient,
  {
    readonly fieldManager: string
    /** Server-side apply; answers the object as the server now has it. */
    readonly apply: (object: KubeObject) => Effect.Effect<KubeObject, ProviderError>
    /** Deletes; an object already gone is success. */
    readonly remove: (ref: ObjectRef) => Effect.Effect<void, ProviderError>
    readonly list: (
      kind: Kind,
      labelSelector: string
    ) => Effect.Effect<{ items: ReadonlyArray<KubeObject>; resourceVersion: string }, ProviderError>
    readonly get: (ref: ObjectRef) => Effect.Effect<KubeObject | undefined, ProviderError>
  }
>()("@clawfleet/core/kubernetes/KubeClient") {
  static readonly layer = (options: KubeClientOptions) => Layer.effect(KubeClient, makeKubeClient(options))
}

interface HttpFailure {
  readonly code: number
  readonly reason: string | undefined
  readonly message: string
  readonly retryAfterSeconds: number | undefined
}

const failureOf = (e: unknown): HttpFailure | undefined => {
  if (typeof e !== "object" || e === null || typeof (e as { code?: unknown }).code !== "number") return undefined
  const { code, body, headers } = e as { code: number; body?: unknown; headers?: Record<string, string> }
  let status: { reason?: string; message?: string } = {}
  try {
    status = (typeof body === "string" ? JSON.parse(body) : body) ?? {}
  } catch {
    status = { message: String(body) }
  }
  const retryAfter = Number(headers?.["retry-after"])
  return {
    code,
    reason: status.reason,
    message: status.message ?? `HTTP ${code}`,
    retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : undefined
  }
}

const reasonOf = (f: HttpFailure | undefined): ProviderErrorReason => {
  if (f === undefined) return "Unavailable" // no answer at all: connection refused, reset, timeout
  if (f.code === 404) return "NotFound"
  if (f.code === 409) return "Conflict"
  if (f.code === 403) return /exceeded quota/i.test(f.message) ? "QuotaExceeded" : "Forbidden"
  if (f.code === 401) return "Forbidden"
  if (f.code === 400 || f.code === 422) return "Invalid"
  if (f.code === 429 || f.code >= 500) return "Unavailable"
  return "Unknown"
}

// A field-manager conflict of server-side apply does not pass by retrying: somebody else owns the
// field. A resource-version conflict does.
const retryable = (f: HttpFailure | undefined) =>
  f === undefined || f.code === 429 || f.code >= 500 || (f.code === 409 && !/conflict with "/.test(f.message))

export const makeKubeClient = (options: KubeClientOptions) =>
  Effect.gen(function* () {
    const k8s = yield* Effect.promise(() => import("@kubernetes/client-node"))
    const api = k8s.KubernetesObjectApi.makeApiClient(options.kubeConfig)
    const fieldManager = options.fieldManager ?? "clawfleet"
    const force = options.force ?? false
    const limit = makeRateLimiter(options.qps ?? 50, options.burst ?? 100)
    const retry = options.retry ?? { times: 5, baseMs: 200, capMs: 10_000 }

    // One call: rate-limited, retried while it may pass, its failure named after the object.
    const call = <A>(what: string, resource: string | undefined, f: () => Promise<A>): Effect.Effect<A, ProviderError> => {
      const once = Effect.andThen(
        limit,
        Effect.tryPromise({
          try: f,
          catch: (cause) => {
            const failure = failureOf(cause)
            return new ProviderError({
              reason: reasonOf(failure),
              provider: options.provider,
              detail: `${what}: ${failure?.message ?? (cause instanceof Error ? cause.message : String(cause))}`,
              ...(resource !== undefined ? { resource } : {}),
              cause
            })
          }
        })
      )
      // Full jitter from an exponential ceiling; a 429's Retry-After is a floor.
      const attempt = (n: number): Effect.Effect<A, ProviderError> =>
        Effect.catchIf(
          once,
          (e) => n < retry.times && e.reason !== "Invalid" && retryable(failureOf(e.cause)),
          (e) =>
            Effect.flatMap(Random.next, (r) => {
              const ceiling = Math.min(retry.capMs, retry.baseMs * 2 ** n)
              const floor = (failureOf(e.cause)?.retryAfterSeconds ?? 0) * 1000
              return Effect.andThen(Effect.sleep(Math.max(floor, Math.round(r * ceiling))), attempt(n + 1))
            })
        )
      return attempt(0)
    }

    const header = (ref: ObjectRef): KubernetesObject => ({
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { name: ref.metadata.name, ...(ref.metadata.namespace !== undefined ? { namespace: ref.metadata.namespace } : {}) }
    })

    return KubeClient.of({
      fieldManager,
      apply: (object) =>
        call("apply", objectKey(object), () =>
          api.patch(object as unknown as KubernetesObject, undefined, undefined, fieldManager, force, k8s.PatchStrategy.ServerSideApply)
        ).pipe(Effect.map((o) => o as unknown as KubeObject)),
      remove: (ref) =>
        call("delete", objectKey(ref), () => api.delete(header(ref), undefined, undefined, undefined, undefined, "Background")).pipe(
          Effect.asVoid,
          Effect.catchIf(
            (e) => e.reason === "NotFound",
            () => Effect.void
          )
        ),
      list: (kind, labelSelector) =>
        Effect.map(
          call(`list ${kind}`, undefined, () =>
            api.list(Kinds[kind].apiVersion, kind, undefined, undefined, undefined, undefined, undefined, labelSelector)
          ),
          (list) => ({ items: list.items as unknown as ReadonlyArray<KubeObject>, resourceVersion: list.metadata?.resourceVersion ?? "" })
        ),
      get: (ref) =>
        call("get", objectKey(ref), () => api.read(header(ref) as never)).pipe(
          Effect.map((o) => o as unknown as KubeObject),
          Effect.catchIf(
            (e) => e.reason === "NotFound",
            () => Effect.succeed(undefined)
          )
        )
    })
  })
