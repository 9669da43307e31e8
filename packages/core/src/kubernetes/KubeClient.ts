import * as http from "node:http"
import * as https from "node:https"
import type { KubeConfig } from "@kubernetes/client-node"
import { Context, Effect, Layer, Random } from "effect"
import { ProviderError, type ProviderErrorReason } from "../provider/ProviderError.ts"
import { isKind, type Kind, Kinds, type KubeObject, listPath, objectKey } from "./KubeObject.ts"
import { makeRateLimiter } from "./RateLimiter.ts"

export interface KubeClientOptions {
  readonly kubeConfig: KubeConfig
  /** The provider name errors carry. */
  readonly provider: string
  /** Server-side apply field manager. Default `clawfleet`. */
  readonly fieldManager?: string | undefined
  /**
   * Take fields another manager *applied* instead of reporting the conflict. Default false. Fields
   * changed by plain updates (kubectl edit) are drift and are always taken back.
   */
  readonly force?: boolean | undefined
  /**
   * A client-side rate limit, requests a second with bursts of `burst` (default `2 × qps`). None by
   * default: API Priority and Fairness on the server is what protects it, and a fixed client
   * limit such as client-go's 5/10 only makes a fleet slow to converge.
   */
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

// Managers named by a server-side apply conflict: `conflict with "kubectl" using v1`.
const conflictingManagers = (e: ProviderError): ReadonlyArray<string> => [
  ...new Set([...(failureOf(e.cause)?.message ?? "").matchAll(/conflict with "([^"]+)"/g)].map((m) => m[1]!))
]

const onlyUpdatedBy = (live: unknown, managers: ReadonlyArray<string>) => {
  const entries = (
    (live as { metadata?: { managedFields?: ReadonlyArray<{ manager?: string; operation?: string }> } })?.metadata?.managedFields ?? []
  ).filter((f) => f.manager !== undefined && managers.includes(f.manager))
  return entries.length > 0 && entries.every((f) => f.operation === "Update")
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
    const server = options.kubeConfig.getCurrentCluster()?.server
    if (server === undefined) {
      return yield* new ProviderError({ reason: "Invalid", provider: options.provider, detail: "the kubeconfig has no current cluster" })
    }
    const base = new URL(server)
    const secure = base.protocol === "https:"
    // One keep-alive pool for every call. The kubeconfig supplies TLS material and credentials;
    // they are refreshed once a minute, since exec and OIDC tokens rotate.
    const agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 256 }) : new http.Agent({ keepAlive: true, maxSockets: 256 })
    let cached: { readonly at: number; readonly value: Promise<https.RequestOptions> } | undefined
    const authentication = () => {
      if (cached === undefined || Date.now() - cached.at > 60_000) {
        const opts: https.RequestOptions = {}
        cached = { at: Date.now(), value: options.kubeConfig.applyToHTTPSOptions(opts).then(() => opts) }
      }
      return cached.value
    }
    // Bodies go out and come back as plain JSON. The typed models of client-node rename fields
    // such as `from` and `default` when they serialize, which would drop them from an apply.
    const send = async (method: "GET" | "PATCH" | "DELETE", path: string, query: Record<string, string>, body?: unknown) => {
      const auth = await authentication()
      const search = new URLSearchParams(query).toString()
      const payload = body === undefined ? undefined : JSON.stringify(body)
      return new Promise<unknown>((resolve, reject) => {
        const request = (secure ? https : http).request(
          {
            ...auth,
            // A cluster reached through a proxy keeps the kubeconfig's own (proxying) agent.
            agent: options.kubeConfig.getCurrentCluster()?.proxyUrl ? auth.agent : agent,
            method,
            protocol: base.protocol,
            hostname: base.hostname,
            port: base.port,
            path: `${base.pathname.replace(/\/$/, "")}${path}${search === "" ? "" : `?${search}`}`,
            headers: {
              ...(auth.headers as Record<string, string> | undefined),
              accept: "application/json",
              ...(payload === undefined
                ? {}
                : { "content-type": "application/apply-patch+yaml", "content-length": Buffer.byteLength(payload) })
            }
          },
          (response) => {
            const chunks: Array<Buffer> = []
            response.on("data", (c: Buffer) => chunks.push(c))
            response.on("error", reject)
            response.on("end", () => {
              const text = Buffer.concat(chunks).toString("utf8")
              const status = response.statusCode ?? 0
              if (status >= 300) {
                const headers = Object.fromEntries(Object.entries(response.headers).map(([k, v]) => [k, String(v)]))
                return reject(new k8s.ApiException(status, `HTTP ${status}`, text, headers))
              }
              try {
                resolve(text === "" ? undefined : JSON.parse(text))
              } catch (e) {
                reject(e)
              }
            })
          }
        )
        request.on("error", reject)
        request.end(payload)
      })
    }
    yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))
    const pathOf = (ref: ObjectRef) => {
      const kind = isKind(ref.kind) ? Kinds[ref.kind] : undefined
      if (kind === undefined) throw new Error(`${ref.kind} is not a kind clawfleet manages`)
      const base = ref.apiVersion.includes("/") ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`
      const ns = kind.namespaced ? `/namespaces/${encodeURIComponent(ref.metadata.namespace ?? "default")}` : ""
      return `${base}${ns}/${kind.plural}/${encodeURIComponent(ref.metadata.name)}`
    }
    const fieldManager = options.fieldManager ?? "clawfleet"
    const force = options.force ?? false
    const limit =
      options.qps === undefined ? Effect.void : makeRateLimiter(options.qps, options.burst ?? Math.max(1, Math.ceil(2 * options.qps)))
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

    return KubeClient.of({
      fieldManager,
      apply: (object) => {
        if (!isKind(object.kind)) {
          return Effect.fail(
            new ProviderError({
              reason: "Invalid",
              provider: options.provider,
              resource: objectKey(object),
              detail: `${object.kind} is not a kind clawfleet manages`
            })
          )
        }
        const applyOnce = (forced: boolean) =>
          call("apply", objectKey(object), () =>
            send("PATCH", pathOf(object), { fieldManager, ...(forced ? { force: "true" } : {}) }, object)
          ) as Effect.Effect<KubeObject, ProviderError>
        // A field somebody changed with a plain update (kubectl edit, a script) is drift: take it
        // back. A field another manager *applied* is a declared intent: report it, do not fight it.
        return Effect.catchIf(
          applyOnce(force),
          (e) => e.reason === "Conflict" && conflictingManagers(e).length > 0,
          (e) =>
            Effect.flatMap(
              call("get", objectKey(object), () => send("GET", pathOf(object), {})),
              (live) => (onlyUpdatedBy(live, conflictingManagers(e)) ? applyOnce(true) : Effect.fail(e))
            )
        )
      },
      remove: (ref) =>
        call("delete", objectKey(ref), () => send("DELETE", pathOf(ref), { propagationPolicy: "Background" })).pipe(
          Effect.asVoid,
          Effect.catchIf(
            (e) => e.reason === "NotFound",
            () => Effect.void
          )
        ),
      list: (kind, labelSelector) =>
        Effect.map(
          call(`list ${kind}`, undefined, () => send("GET", listPath(kind), { labelSelector })),
          (list) => {
            const l = list as { items?: ReadonlyArray<KubeObject>; metadata?: { resourceVersion?: string } }
            return {
              items: (l.items ?? []).map((o) => ({ ...o, apiVersion: Kinds[kind].apiVersion, kind })),
              resourceVersion: l.metadata?.resourceVersion ?? ""
            }
          }
        ),
      get: (ref) =>
        call("get", objectKey(ref), () => send("GET", pathOf(ref), {})).pipe(
          Effect.map((o) => o as KubeObject),
          Effect.catchIf(
            (e) => e.reason === "NotFound",
            () => Effect.succeed(undefined)
          )
        )
    })
  })
