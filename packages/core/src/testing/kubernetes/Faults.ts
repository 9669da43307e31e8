import type { FakeKubeRequest } from "./Router.ts"
import { internalError, type KubeError, modified, serviceUnavailable, tooManyRequests } from "./Status.ts"

/** How injected failures answer. */
export interface FailureOptions {
  /** An HTTP failure with the real Status body, or "disconnect": the connection is destroyed without an answer. */
  readonly status: 409 | 429 | 500 | 503 | "disconnect"
  /** Sent as `Retry-After` and in `details.retryAfterSeconds` (429 defaults to 1, as the real server's throttling does). */
  readonly retryAfterSeconds?: number
  /** Which requests may fail; by default any request for a resource (discovery is left alone). */
  readonly match?: (request: FakeKubeRequest) => boolean
  /**
   * Serve the request first, then fail it: a crash point where the write happened but the client
   * never learned of it (a lost response, a timeout after commit). Ignored for watches.
   */
  readonly afterServing?: boolean
}

export interface Failure {
  readonly error: KubeError | "disconnect"
  readonly afterServing: boolean
}

interface Rule {
  remaining: number
  readonly options: FailureOptions
}

const isResourceRequest = (r: FakeKubeRequest) => r.resource !== undefined

const groupOf = (apiVersion: string | undefined) => (apiVersion?.includes("/") ? apiVersion.split("/")[0]! : "")

/** Latency and failures, applied to requests before the fake serves them. */
export class Faults {
  latencyMs: number
  private rules: Array<Rule> = []

  constructor(latencyMs: number) {
    this.latencyMs = latencyMs
  }

  failNext(count: number, options: FailureOptions): void {
    if (count > 0) this.rules.push({ remaining: count, options })
  }

  /** The failure due for `request`, if any, consuming one from the first rule that matches. */
  take(request: FakeKubeRequest): Failure | undefined {
    const rule = this.rules.find((r) => (r.options.match ?? isResourceRequest)(request))
    if (rule === undefined) return undefined
    if (--rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule)
    const { status, retryAfterSeconds } = rule.options
    const afterServing = (rule.options.afterServing ?? false) && request.verb !== "watch"
    switch (status) {
      case "disconnect":
        return { error: "disconnect", afterServing }
      case 429:
        return { error: tooManyRequests(retryAfterSeconds ?? 1), afterServing }
      case 500:
        return { error: internalError("injected failure"), afterServing }
      case 503:
        return { error: serviceUnavailable(retryAfterSeconds), afterServing }
      case 409:
        return {
          error: modified({ group: groupOf(request.apiVersion), resource: request.resource ?? "", name: request.name ?? "" }),
          afterServing
        }
    }
  }
}
