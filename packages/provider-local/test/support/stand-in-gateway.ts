/**
 * A stand-in for `openclaw gateway run`, small and fast enough to start dozens of times per test
 * run. It reads what the real gateway reads (`--port`, `OPENCLAW_STATE_DIR`,
 * `OPENCLAW_CONFIG_PATH`, `HOME`, `OPENCLAW_GATEWAY_TOKEN`), listens on 127.0.0.1 only, and
 * answers the probes the way OpenClaw does: JSON from `/readyz`, `{"ready":false}` with 503 until
 * it is ready.
 *
 * Flags that make it misbehave on purpose:
 *   --ready-after-ms N   ready N ms after start (default 100)
 *   --readyz-html        answer /readyz with 200 and HTML, as the Control UI does for unknown paths
 *   --ignore-sigterm     stay up on SIGTERM (only SIGKILL ends it)
 *   --exit-at-start C    write to stderr and exit with code C at once
 *
 * Under its state directory it keeps `stand-in/first-boot` (written once: proves state
 * survives), `stand-in/boots` (one line per start) and `stand-in/pid`.
 *
 * Token-protected routes: `GET /whoami` (pid, port, environment, the config it loaded) and
 * `POST /crash?code=N` (writes to stderr, exits with N).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { join } from "node:path"

// With its supervisor gone the pipes break; a deaf gateway must stay deaf, not die of EPIPE.
process.stdout.on("error", () => {})
process.stderr.on("error", () => {})

const args = process.argv.slice(2)
const flag = (name: string) => args.includes(name)
const option = (name: string) => {
  const i = args.indexOf(name)
  return i === -1 ? undefined : args[i + 1]
}

const exitAtStart = option("--exit-at-start")
if (exitAtStart !== undefined) {
  for (let i = 1; i <= 30; i++) process.stderr.write(`stand-in: failing at start, line ${i}\n`)
  process.stderr.write("stand-in: giving up\n")
  process.exit(Number(exitAtStart))
}

const need = (name: string) => {
  const value = process.env[name]
  if (!value) {
    process.stderr.write(`stand-in: ${name} is not set\n`)
    process.exit(2)
  }
  return value
}
const port = Number(option("--port"))
const stateDir = need("OPENCLAW_STATE_DIR")
const configPath = need("OPENCLAW_CONFIG_PATH")
const home = need("HOME")
const token = need("OPENCLAW_GATEWAY_TOKEN")
const readyAfterMs = Number(option("--ready-after-ms") ?? 100)
const config = JSON.parse(readFileSync(configPath, "utf8")) as unknown

const own = join(stateDir, "stand-in")
mkdirSync(own, { recursive: true })
if (!existsSync(join(own, "first-boot"))) writeFileSync(join(own, "first-boot"), `${new Date().toISOString()} pid ${process.pid}\n`)
appendFileSync(join(own, "boots"), `${process.pid}\n`)
writeFileSync(join(own, "pid"), `${process.pid}\n`)

const startedAt = Date.now()
const send = (res: import("node:http").ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" })
  res.end(JSON.stringify(body))
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://stand-in")
  if (url.pathname === "/readyz") {
    if (flag("--readyz-html")) {
      res.writeHead(200, { "content-type": "text/html" })
      return res.end("<!doctype html><title>Control UI</title>")
    }
    const ready = Date.now() - startedAt >= readyAfterMs
    return send(res, ready ? 200 : 503, ready ? { ready: true } : { ready: false, failing: ["startup"] })
  }
  if (url.pathname === "/healthz") return send(res, 200, { ok: true, status: "live" })
  if (req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { error: "unauthorized" })
  if (url.pathname === "/whoami") {
    return send(res, 200, { pid: process.pid, port, stateDir, configPath, home, env: process.env, config })
  }
  if (url.pathname === "/crash" && req.method === "POST") {
    const code = Number(url.searchParams.get("code") ?? 1)
    process.stderr.write(`stand-in: crashing on request with code ${code}\n`)
    res.end()
    return setTimeout(() => process.exit(code), 10)
  }
  res.writeHead(200, { "content-type": "text/html" })
  res.end("<!doctype html><title>Control UI</title>")
})

process.on("SIGTERM", () => {
  if (flag("--ignore-sigterm")) {
    process.stderr.write("stand-in: ignoring SIGTERM\n")
    return
  }
  server.close()
  process.exit(0)
})

server.listen(port, "127.0.0.1")
