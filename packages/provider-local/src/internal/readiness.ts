import { request } from "node:http"

export interface ProbeResult {
  readonly ready: boolean
  /** Why not, or what the gateway said, in words for a condition message. */
  readonly detail: string
}

const MAX_BODY = 64 * 1024

const verdict = (path: string, status: number, contentType: string, body: string): ProbeResult => {
  let json: unknown
  try {
    json = contentType.includes("json") ? JSON.parse(body) : undefined
  } catch {
    json = undefined
  }
  // OpenClaw's Control UI answers any unknown path with 200 and HTML: only the probe's JSON
  // body can say the gateway is ready.
  if (typeof json !== "object" || json === null || !("ready" in json)) {
    return { ready: false, detail: `GET ${path} answered ${status} without a JSON readiness body` }
  }
  const said = json as { readonly ready: unknown; readonly failing?: unknown }
  if (status === 200 && said.ready === true) return { ready: true, detail: `${path} says ready` }
  const failing = Array.isArray(said.failing) && said.failing.length > 0 ? `: failing ${said.failing.map(String).join(", ")}` : ""
  return { ready: false, detail: `${path} says not ready (${status})${failing}` }
}

/**
 * Asks the gateway on loopback whether it is ready: a 200 whose JSON body says `ready: true`.
 * Never rejects; a refused connection or a timeout is simply not ready.
 */
export const probeReady = (port: number, path: string, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> =>
  new Promise((resolve) => {
    // A fresh connection each time: a pooled one could outlive the gateway that accepted it.
    const req = request({ host: "127.0.0.1", port, path, method: "GET", agent: false, timeout: timeoutMs, signal }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => {
        body += chunk
        if (body.length > MAX_BODY) res.destroy()
      })
      res.on("end", () => resolve(verdict(path, res.statusCode ?? 0, String(res.headers["content-type"] ?? ""), body)))
      // After "end" this changes nothing; without it (an oversized or broken answer) it is the verdict.
      res.on("close", () => resolve({ ready: false, detail: `the answer to GET ${path} broke off` }))
    })
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", (error: NodeJS.ErrnoException) =>
      resolve({
        ready: false,
        detail: error.code === "ECONNREFUSED" ? `nothing listens on 127.0.0.1:${port} yet` : `GET ${path} failed: ${error.message}`
      })
    )
    req.end()
  })
