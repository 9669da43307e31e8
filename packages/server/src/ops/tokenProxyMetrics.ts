import type * as http from "node:http"
import { performance } from "node:perf_hooks"
import { type Admission, Metering } from "@clawfleet/core"
import { Effect, Layer } from "effect"
import { Metrics } from "./Metrics.ts"
import type { TokenProxyInstruments } from "./metrics/instruments.ts"

/** nginx's code for a client that went away before it was answered; no HTTP status fits. */
export const CLIENT_CLOSED = 499

/**
 * The token proxy's request listener (`TokenProxy.handler`), counting every request by route and
 * status and timing it to the last byte of the response, so a stream counts for as long as it
 * runs. Mount the result on the server instead of the bare handler.
 */
export const instrumentTokenProxy =
  (listener: http.RequestListener, m: TokenProxyInstruments): http.RequestListener =>
  (req, res) => {
    const start = performance.now()
    const route = (req.url ?? "/").split("?", 1)[0] ?? "/"
    res.once("close", () =>
      m.request({ route, status: res.headersSent ? res.statusCode : CLIENT_CLOSED, seconds: (performance.now() - start) / 1000 })
    )
    listener(req, res)
  }

const countRefusals = (m: TokenProxyInstruments, admissions: ReadonlyArray<Admission>) => {
  for (const a of admissions) if (a._tag === "Refused") m.refusal(a.reason)
}

/** A `Metering` that counts every refused reservation by reason; everything else passes through. */
export const instrumentMetering = (metering: Metering["Service"], m: TokenProxyInstruments): Metering["Service"] =>
  Metering.of({
    ...metering,
    reserve: (request) => Effect.tap(metering.reserve(request), (a) => Effect.sync(() => countRefusals(m, [a]))),
    reserveMany: (requests) => Effect.tap(metering.reserveMany(requests), (as) => Effect.sync(() => countRefusals(m, as)))
  })

/**
 * Replaces the `Metering` below it with one that counts budget and rate-limit refusals. Works with
 * `TokenProxy.layer` too: the refusal happens in the metering, wherever the proxy listens.
 */
export const MeteringMetrics: Layer.Layer<Metering, never, Metering | Metrics> = Layer.effect(
  Metering,
  Effect.gen(function* () {
    const metering = yield* Metering
    const metrics = yield* Metrics
    return instrumentMetering(metering, metrics.tokenProxy)
  })
)
