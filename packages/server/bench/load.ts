/**
 * A load generator in a process of its own, so the server's CPU is the server's: `concurrency`
 * keep-alive connections each sending GETs back to back for `seconds`. Prints one JSON line:
 * requests, non-2xx answers and latency percentiles in milliseconds.
 *
 *   node bench/load.ts <url-template> <token> <concurrency> <seconds>
 *
 * `{i}` in the template is replaced by a rotating index, so requests spread over records.
 */
import * as http from "node:http"

const [template = "", token = "", concurrency = "16", seconds = "5", spread = "10000"] = process.argv.slice(2)
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concurrency) })
const deadline = performance.now() + Number(seconds) * 1000
const latencies: Array<number> = []
let failures = 0
let next = 0

const once = (url: URL) =>
  new Promise<void>((resolve) => {
    const t0 = performance.now()
    const req = http.get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume()
      res.on("end", () => {
        if ((res.statusCode ?? 500) >= 300) failures++
        latencies.push(performance.now() - t0)
        resolve()
      })
    })
    req.on("error", () => {
      failures++
      resolve()
    })
  })

const worker = async () => {
  while (performance.now() < deadline) {
    const i = next++ % Number(spread)
    await once(new URL(template.replaceAll("{i}", String(i).padStart(5, "0"))))
  }
}

await Promise.all(Array.from({ length: Number(concurrency) }, worker))
agent.destroy()
latencies.sort((a, b) => a - b)
const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
console.log(JSON.stringify({ requests: latencies.length, failures, p50: at(0.5), p99: at(0.99) }))
