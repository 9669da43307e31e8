import type * as http from "node:http"
import type { ActualUsage, Closing } from "../Metering.ts"
import { REQUEST_ID_HEADER, sendFailure } from "./dialect.ts"
import type { Route } from "./routes.ts"
import { PASSED_REQUEST_HEADERS, PASSED_RESPONSE_HEADERS, type Upstream } from "./upstream.ts"
import { type TokenCounts, UsageMeter } from "./usage.ts"

export const BUDGET_WARNING_HEADER = "x-clawfleet-budget-warning"

export interface Forwarding {
  readonly req: http.IncomingMessage
  readonly res: http.ServerResponse
  readonly route: Route
  readonly upstream: Upstream
  readonly body: Buffer
  readonly streaming: boolean
  readonly requestId: string
  readonly warning: string | undefined
  /** What was reserved: charged in full when a reply ends without saying what it used. */
  readonly held: ActualUsage
  readonly price: (usage: TokenCounts) => number
  /** Hands a closing to the store; true when it was taken, false to try again. */
  readonly close: (item: Closing) => Promise<boolean>
  readonly log: (message: string) => void
}

const RETRY_DELAYS_MS = [50, 250, 1000]

// Settle and release are keyed by request id and act once, so repeating one after a lost reply is
// safe. A reservation that still cannot be closed stays held until it expires.
const closeWith = async (attempt: () => Promise<boolean>, log: (m: string) => void, what: string) => {
  for (let i = 0; ; i++) {
    if (await attempt()) return
    if (i >= RETRY_DELAYS_MS.length) return log(`could not ${what}; the reservation stays held until it expires`)
    await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[i]))
  }
}

const passed = (headers: http.IncomingHttpHeaders, names: ReadonlyArray<string>) => {
  const out: Record<string, string> = {}
  for (const name of names) {
    const value = headers[name]
    if (typeof value === "string") out[name] = value
  }
  return out
}

const readSmall = (message: http.IncomingMessage, limit: number): Promise<string> =>
  new Promise((resolve) => {
    let text = ""
    message.setEncoding("utf8")
    message.on("data", (chunk: string) => {
      if (text.length < limit) text += chunk
    })
    message.on("end", () => resolve(text.slice(0, limit)))
    message.on("error", () => resolve(text.slice(0, limit)))
  })

/**
 * Sends an admitted request upstream and relays the reply as it comes, then closes the
 * reservation exactly once: settled at the reported usage when the reply completes, released
 * when the upstream fails or the caller leaves before the reply began, and settled at the
 * reservation when the caller cuts a begun stream short (the upstream bills those tokens, and
 * hanging up must not make them free).
 */
export const forward = (f: Forwarding): void => {
  const { res, route, requestId } = f
  const dialect = route.dialect
  const abort = new AbortController()
  let closed = false
  let began = false
  const settle = (usage: ActualUsage) => {
    if (closed) return
    closed = true
    void closeWith(() => f.close({ requestId, settle: usage }), f.log, "settle")
  }
  const release = (note: string) => {
    if (closed) return
    closed = true
    void closeWith(() => f.close({ requestId, release: note }), f.log, "release")
  }

  // The caller may have left while the request was being metered: nothing goes upstream then.
  if (res.destroyed) {
    release("client-disconnect")
    return
  }
  res.on("close", () => {
    if (res.writableFinished) return
    abort.abort()
    if (began) settle(f.held)
    else release("client-disconnect")
  })

  const upstreamRequest = f.upstream.request(route.upstreamPath, f.body, passed(f.req.headers, PASSED_REQUEST_HEADERS), abort.signal)
  upstreamRequest.on("timeout", () => upstreamRequest.destroy(new Error("upstream timed out")))
  upstreamRequest.on("error", (error) => {
    if (abort.signal.aborted) return
    release("upstream-unreachable")
    const timedOut = error.message === "upstream timed out"
    if (began) res.destroy()
    else
      sendFailure(res, dialect, requestId, {
        status: timedOut ? 504 : 502,
        message: timedOut ? "The model provider did not answer in time." : "The model provider could not be reached.",
        code: "upstream_error"
      })
  })

  upstreamRequest.on("response", (reply) => {
    const status = reply.statusCode ?? 502
    if (status >= 400) {
      void readSmall(reply, 64 * 1024).then((text) => {
        release(`upstream-${status}`)
        // The provider's words about the proxy's own key would tell a tenant about a secret it must not see.
        if (status === 401 || status === 403) {
          return sendFailure(res, dialect, requestId, {
            status: 502,
            message: "The model provider refused the proxy's credentials; an administrator must fix the upstream key.",
            code: "upstream_error"
          })
        }
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch {
          parsed = undefined
        }
        if (parsed === undefined || res.headersSent) {
          return sendFailure(res, dialect, requestId, {
            status: status >= 500 ? 502 : status,
            message: `The model provider answered ${status}.`,
            code: "upstream_error",
            retryAfterSeconds: Number(reply.headers["retry-after"]) || undefined
          })
        }
        const out = JSON.stringify(parsed)
        res.writeHead(status, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(out),
          [REQUEST_ID_HEADER]: requestId,
          ...(typeof reply.headers["retry-after"] === "string" ? { "retry-after": reply.headers["retry-after"] } : {})
        })
        res.end(out)
      })
      return
    }

    const meter = new UsageMeter(f.streaming)
    began = true
    res.writeHead(status, {
      ...passed(reply.headers, PASSED_RESPONSE_HEADERS),
      [REQUEST_ID_HEADER]: requestId,
      ...(f.warning !== undefined ? { [BUDGET_WARNING_HEADER]: f.warning } : {})
    })
    res.flushHeaders()
    reply.on("data", (chunk: Buffer) => {
      meter.push(chunk)
      // Backpressure: a slow caller slows the upstream instead of filling our memory.
      if (!res.write(chunk)) {
        reply.pause()
        res.once("drain", () => reply.resume())
      }
    })
    reply.on("end", () => {
      meter.end()
      const usage = meter.usage
      if (usage !== undefined) settle({ ...usage, micros: f.price(usage) })
      else {
        f.log("the reply reported no usage; charged what was reserved")
        settle(f.held)
      }
      res.end()
    })
    reply.on("error", () => {
      // Upstream dropped mid-reply: it did not finish, so it is not charged.
      if (abort.signal.aborted) return
      release("upstream-dropped")
      res.destroy()
    })
  })
  upstreamRequest.end(f.body)
}
