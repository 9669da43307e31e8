import type * as http from "node:http"
import { Redacted } from "effect"
import { type Refusal, refusal, sendRefusal } from "./refusal.ts"
import { PASSED_REQUEST_HEADERS, PASSED_RESPONSE_HEADERS, pick, type Upstreams } from "./upstream.ts"

export interface Exchange {
  readonly req: http.IncomingMessage
  readonly res: http.ServerResponse
  readonly upstreams: Upstreams
  readonly url: URL
  readonly credential: Redacted.Redacted<string> | undefined
  /** The credential is the tenant owner's own token, not the broker's. */
  readonly personal: boolean
  readonly maxBodyBytes: number
  /** Time the tool has to begin its answer; a stream, once begun, may stay open as long as both ends want. */
  readonly timeoutMs: number
  /** Cuts the exchange both ways, from outside (a revoked grant). */
  readonly signal: AbortSignal
}

const ERROR_BODY_LIMIT = 64 * 1024

const REFUSED_CREDENTIAL = refusal(502, "The tool refused the broker's credential; an administrator must fix the tool's secret.")
// A person's token is theirs to renew (revoked or expired at the provider), not an administrator's.
const REFUSED_PERSONAL = refusal(502, "The tool refused the owner's connection; they must connect the tool again.")

const readSmall = (message: http.IncomingMessage, limit: number): Promise<string> =>
  new Promise((resolve) => {
    let text = ""
    message.setEncoding("utf8")
    message.on("data", (chunk: string) => {
      if (text.length < limit) text += chunk
    })
    message.on("end", () => resolve(text))
    message.on("error", () => resolve(text))
    message.on("close", () => resolve(text))
  })

/**
 * An error reply is short, so it is read whole and checked before the tenant sees it: the tool's
 * words about the broker's credential, or a reply echoing it, must not reach a tenant.
 */
const answerError = async (x: Exchange, reply: http.IncomingMessage, status: number): Promise<void> => {
  const text = await readSmall(reply, ERROR_BODY_LIMIT + 1)
  if (status === 401 || status === 403) return sendRefusal(x.res, x.personal ? REFUSED_PERSONAL : REFUSED_CREDENTIAL)
  const echoes = x.credential !== undefined && text.includes(Redacted.value(x.credential))
  if (status >= 500 || status < 400 || echoes || text.length > ERROR_BODY_LIMIT) {
    return sendRefusal(x.res, refusal(502, `The tool answered ${status}.`))
  }
  // A 404 must stay one: it tells an MCP client its session is gone and to start a new one.
  if (x.res.headersSent || x.res.destroyed) return
  x.res.writeHead(status, { ...pick(reply.headers, PASSED_RESPONSE_HEADERS), "content-length": Buffer.byteLength(text) })
  x.res.end(text)
}

/**
 * Sends a permitted request to the tool and relays its answer as it comes, an SSE stream
 * included, in both directions under backpressure. Whichever end leaves first takes the other
 * with it: a tenant hanging up cuts the upstream request, and the tool hanging up cuts the reply.
 */
export const forward = (x: Exchange): void => {
  const { req, res } = x
  const abort = new AbortController()
  let began = false
  const refuse = (r: Refusal) => {
    abort.abort()
    sendRefusal(res, r)
  }

  // The caller may have left while the request was being decided: nothing goes upstream then.
  if (res.destroyed || x.signal.aborted) {
    res.destroy()
    return
  }
  if (Number(req.headers["content-length"]) > x.maxBodyBytes) {
    sendRefusal(res, tooLarge(x.maxBodyBytes))
    return
  }
  const onCut = () => {
    abort.abort()
    res.destroy()
  }
  x.signal.addEventListener("abort", onCut, { once: true })
  res.on("close", () => {
    x.signal.removeEventListener("abort", onCut)
    if (!res.writableFinished) abort.abort()
  })

  const upstream = x.upstreams.request({
    url: x.url,
    method: req.method ?? "GET",
    headers: pick(req.headers, PASSED_REQUEST_HEADERS),
    credential: x.credential,
    signal: abort.signal
  })
  const timer = setTimeout(() => upstream.destroy(new Error("upstream timed out")), x.timeoutMs)
  upstream.on("error", (error) => {
    clearTimeout(timer)
    if (abort.signal.aborted) return
    const timedOut = error.message === "upstream timed out"
    if (began) res.destroy()
    else refuse(refusal(timedOut ? 504 : 502, timedOut ? "The tool did not answer in time." : "The tool could not be reached."))
  })

  upstream.on("response", (reply) => {
    clearTimeout(timer)
    const status = reply.statusCode ?? 502
    if (status < 200 || status >= 300) return void answerError(x, reply, status)
    began = true
    res.writeHead(status, pick(reply.headers, PASSED_RESPONSE_HEADERS))
    // An SSE stream may stay silent for long; the client must see it open now, not at the first event.
    res.flushHeaders()
    reply.on("data", (chunk: Buffer) => {
      // Backpressure: a slow tenant slows the tool instead of filling our memory.
      if (!res.write(chunk)) {
        reply.pause()
        res.once("drain", () => reply.resume())
      }
    })
    reply.on("end", () => res.end())
    reply.on("close", () => {
      if (!reply.complete) res.destroy()
    })
  })

  if (req.method !== "POST") {
    req.resume()
    upstream.end()
    return
  }
  // Counted as it streams too: a declared length may be absent, and the body is not buffered.
  let size = 0
  req.on("data", (chunk: Buffer) => {
    if (abort.signal.aborted) return
    size += chunk.length
    if (size > x.maxBodyBytes) refuse(tooLarge(x.maxBodyBytes))
    else if (!upstream.write(chunk)) {
      req.pause()
      upstream.once("drain", () => req.resume())
    }
  })
  req.on("end", () => {
    if (!abort.signal.aborted) upstream.end()
  })
}

const tooLarge = (limit: number) => refusal(413, `The request body exceeds ${limit} bytes.`)
