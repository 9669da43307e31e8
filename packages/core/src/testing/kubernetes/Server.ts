import type { IncomingMessage, ServerResponse } from "node:http"
import { type Call, type ServerState, serveRoute } from "./Reads.ts"
import { type FakeKubeRequest, type KubeVerb, mediaType, type Route, route } from "./Router.ts"
import { internalError, KubeError } from "./Status.ts"
import { serveWrite } from "./Writes.ts"

/** The HTTP side of the fake: routing, the request log, faults, and one handler per verb. */

const METHOD_VERBS: Readonly<Record<string, KubeVerb>> = { POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" }

const send = (res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}) => {
  if (res.headersSent) return void res.end()
  res.writeHead(code, { "Content-Type": "application/json", ...headers })
  res.end(JSON.stringify(body))
}

const asStatus = (e: unknown): [number, unknown, Record<string, string>] => {
  const err = e instanceof KubeError ? e : internalError(e instanceof Error ? e.message : String(e))
  const retry = err.details.retryAfterSeconds
  return [err.code, err.body, retry === undefined ? {} : { "Retry-After": String(retry) }]
}

const sendError = (res: ServerResponse, e: unknown) => send(res, ...asStatus(e))

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

// Without a fieldManager the apiserver names the manager after the client: the user agent up to its first "/".
const defaultManager = (userAgent: string | undefined) => (userAgent ?? "").split("/")[0]?.slice(0, 128) || "unknown"

export const handler = (st: ServerState) => (req: IncomingMessage, res: ServerResponse) => {
  void handle(st, req, res).catch((e) => sendError(res, e))
}

const handle = async (st: ServerState, req: IncomingMessage, res: ServerResponse) => {
  const url = new URL(req.url ?? "/", "http://fake")
  const query = Object.fromEntries(url.searchParams)
  const method = req.method ?? "GET"
  const contentType = mediaType(req.headers["content-type"])
  const watch = query.watch === "true" || query.watch === "1"
  let routed: Route | KubeError
  try {
    routed = route(st.resources, method, url.pathname, watch, contentType)
  } catch (e) {
    routed = e instanceof KubeError ? e : internalError(String(e))
  }
  const r = routed instanceof KubeError ? undefined : routed.type === "resource" ? routed : undefined
  const verb = r?.verb ?? METHOD_VERBS[method] ?? "get"
  const writes = !["get", "list", "watch"].includes(verb)
  const manager = query.fieldManager ?? defaultManager(req.headers["user-agent"])
  const entry: FakeKubeRequest = {
    method,
    path: url.pathname,
    query,
    verb,
    ...(r === undefined ? {} : { apiVersion: r.rt.apiVersion, kind: r.rt.kind, resource: r.rt.plural }),
    ...(r?.namespace === undefined ? {} : { namespace: r.namespace }),
    ...(r?.name === undefined ? {} : { name: r.name }),
    ...(r?.subresource === undefined ? {} : { subresource: r.subresource }),
    ...(writes ? { fieldManager: manager } : {}),
    ...(contentType === "" ? {} : { contentType })
  }
  st.log.push(entry)
  const body = await readBody(req)
  if (st.faults.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, st.faults.latencyMs))
  const fault = st.faults.take(entry)
  const fail = () => (fault?.error === "disconnect" ? void req.socket.destroy() : sendError(res, fault?.error))
  if (fault !== undefined && !fault.afterServing) return fail()
  if (routed instanceof KubeError) return fault === undefined ? sendError(res, routed) : fail()
  const respond =
    fault === undefined ? (code: number, out: unknown, headers?: Record<string, string>) => send(res, code, out, headers) : () => {}
  const call: Call = { query, contentType, body, manager, res, respond, serverAddress: req.headers.host ?? "127.0.0.1" }
  try {
    if (r === undefined || !writes) serveRoute(st, routed, call)
    else {
      // Writes are synchronous once the validation schemas are loaded, so each is atomic.
      await st.validator.prepare(r.rt)
      serveWrite(st, r.rt, r.verb, r.namespace, r.name, r.subresource, call)
    }
  } catch (e) {
    call.respond(...asStatus(e))
  }
  if (fault !== undefined) fail()
}
