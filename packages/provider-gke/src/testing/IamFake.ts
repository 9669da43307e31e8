import { Context, Effect, Layer } from "effect"
import {
  type Api,
  ApiFailure,
  type Call,
  type FailureOptions,
  fail,
  type GcpRequest,
  Harness,
  jsonBody,
  ok,
  type Route,
  serve
} from "./http.ts"
import { IamState, type ServiceAccount } from "./IamState.ts"
import type { IamPolicy, PolicyDraft } from "./policy.ts"

export interface IamFakeOptions {
  /** Delay before every request is served, in milliseconds (default 0). */
  readonly latencyMs?: number
  /** The largest page `list` answers with (default 100, as IAM). */
  readonly maxPageSize?: number
  /**
   * The workload identity pools that exist, e.g. "my-project.svc.id.goog" (default: any). A binding for
   * `serviceAccount:POOL[namespace/ksa]` of another pool fails as IAM fails it before Workload Identity is enabled.
   */
  readonly workloadIdentityPools?: ReadonlyArray<string>
}

/**
 * A fake of the IAM v1 REST API's service accounts on loopback HTTP, for `new iam_v1.Iam({ auth, rootUrl: fake.url + "/" })`
 * of `@googleapis/iam`: create, get, list, patch, delete, and each account's IAM policy with etags. Errors come
 * as `{ error: { code, message, status } }`. It takes any bearer token, or none. Everything it hands out is a copy.
 */
export class IamFake extends Context.Service<
  IamFake,
  {
    /** `http://127.0.0.1:<port>`; the client's `rootUrl` is this with a trailing "/". */
    readonly url: string
    readonly serviceAccounts: () => ReadonlyArray<ServiceAccount>
    readonly serviceAccount: (email: string) => ServiceAccount | undefined
    /** The account's IAM policy as `getIamPolicy` answers, or undefined when there is no such account. */
    readonly policy: (email: string) => IamPolicy | undefined
    /** Every request received so far, in arrival order. */
    readonly requests: () => ReadonlyArray<GcpRequest>
    readonly resetRequests: () => void
    /** Creates an account without HTTP, as `create` would. */
    readonly seedServiceAccount: (project: string, accountId: string, displayName?: string) => ServiceAccount
    /** Someone else's change of the account's IAM policy: it gets a new etag, so a client's write with the old one fails with 409 ABORTED. */
    // biome-ignore lint/suspicious/noConfusingVoidType: edits mostly change the draft in place and return nothing.
    readonly editPolicy: (email: string, change: (draft: PolicyDraft) => PolicyDraft | void) => IamPolicy
    /** The next `count` requests that `options.match` accepts (default: any) fail with `options.status`. */
    readonly failNext: (count: number, options: FailureOptions) => void
    readonly setLatency: (ms: number) => void
  }
>()("@clawfleet/provider-gke/testing/IamFake") {
  /** Starts the server on 127.0.0.1 and a free port; closing the scope closes it and every connection. */
  static layer(options: IamFakeOptions = {}): Layer.Layer<IamFake> {
    return Layer.effect(IamFake, make(options))
  }
}

const STATUSES: Readonly<Record<number, string>> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  409: "ABORTED",
  412: "FAILED_PRECONDITION",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  501: "UNIMPLEMENTED",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED"
}

const DEFAULT_MESSAGES: Readonly<Record<number, string>> = {
  403: "The caller does not have permission",
  429: "Quota exceeded for quota metric 'Write requests' of service 'iam.googleapis.com'.",
  500: "Internal error encountered.",
  503: "The service is currently unavailable."
}

const parseError = (): never => fail(400, "Invalid JSON payload received.", { status: "INVALID_ARGUMENT" })

const decode = (segment: string) => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return fail(400, "Invalid percent-encoding in the resource name.", { status: "INVALID_ARGUMENT" })
  }
}

const route = (operation: string, write: boolean, serve: (call: Call) => ReturnType<Route["serve"]>): Route => ({
  operation: `iam.projects.serviceAccounts.${operation}`,
  write,
  serve
})

/** A policy as IAM answers with it: no `bindings` field when there are none. */
const answer = (p: IamPolicy) => ok({ version: p.version, etag: p.etag, ...(p.bindings.length === 0 ? {} : { bindings: p.bindings }) })

const iamApi = (state: IamState): Api => ({
  route: (method, path) => {
    const m = /^\/v1\/projects\/([^/]+)\/serviceAccounts(?:\/([^/:]+)(?::([A-Za-z]+))?)?$/.exec(path)
    if (m === null) return undefined
    const [, rawProject = "", rawId, verb] = m
    const project = decode(rawProject)
    if (rawId === undefined) {
      if (method === "POST") return route("create", true, (c) => ok(state.create(project, jsonBody(c, parseError))))
      if (method === "GET") {
        return route("list", false, (c) => {
          const { items, next } = state.list(project, c.params)
          return ok({ ...(items.length === 0 ? {} : { accounts: items }), ...(next === undefined ? {} : { nextPageToken: next }) })
        })
      }
      return undefined
    }
    const id = decode(rawId)
    if (verb === undefined) {
      switch (method) {
        case "GET":
          return route("get", false, () => ok(state.resolve(project, id).account))
        case "PATCH":
          return route("patch", true, (c) => ok(state.patch(state.resolve(project, id), jsonBody(c, parseError))))
        case "DELETE":
          return route("delete", true, () => {
            state.remove(state.resolve(project, id))
            return ok({})
          })
      }
      return undefined
    }
    if (method !== "POST") return undefined
    switch (verb) {
      case "getIamPolicy":
        return route("getIamPolicy", false, (c) => {
          const options = jsonBody(c, parseError).options as { readonly requestedPolicyVersion?: unknown } | undefined
          const requested = c.params.get("options.requestedPolicyVersion") ?? options?.requestedPolicyVersion
          return answer(state.policy(state.resolve(project, id), requested === undefined || requested === null ? null : String(requested)))
        })
      case "setIamPolicy":
        return route("setIamPolicy", true, (c) => answer(state.setPolicy(state.resolve(project, id), jsonBody(c, parseError).policy)))
      case "testIamPermissions":
        return route("testIamPermissions", false, (c) => {
          state.resolve(project, id)
          const permissions = jsonBody(c, parseError).permissions
          return ok(Array.isArray(permissions) && permissions.length > 0 ? { permissions } : {})
        })
    }
    return undefined
  },
  render: (f) => ({ error: { code: f.code, message: f.message, status: f.status ?? STATUSES[f.code] ?? "UNKNOWN" } }),
  notFound: (method, path) => new ApiFailure(404, `Method not found: ${method} ${path}`, { status: "NOT_FOUND" }),
  injected: (code, message) => new ApiFailure(code, message ?? DEFAULT_MESSAGES[code] ?? `Injected failure (${code}).`)
})

const make = (options: IamFakeOptions) =>
  Effect.gen(function* () {
    const state = new IamState(options.maxPageSize ?? 100, options.workloadIdentityPools)
    const harness = new Harness(options.latencyMs ?? 0)
    const url = yield* serve(iamApi(state), harness)
    const existing = (email: string) => state.find(email) ?? fail(404, `IamFake has no service account ${email}`)

    return IamFake.of({
      url,
      serviceAccounts: () => structuredClone(state.all()),
      serviceAccount: (email) => {
        const r = state.find(email)
        return r === undefined ? undefined : structuredClone(r.account)
      },
      policy: (email) => {
        const r = state.find(email)
        return r === undefined ? undefined : state.policy(r, "3")
      },
      requests: () => [...harness.log],
      resetRequests: () => {
        harness.log.length = 0
      },
      seedServiceAccount: (project, accountId, displayName) =>
        state.create(project, { accountId, serviceAccount: displayName === undefined ? {} : { displayName } }),
      editPolicy: (email, change) => state.editPolicy(existing(email), change),
      failNext: (count, failure) => harness.failNext(count, failure),
      setLatency: (ms) => {
        harness.latencyMs = ms
      }
    })
  })
