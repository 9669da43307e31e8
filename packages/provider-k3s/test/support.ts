import { RuntimeProvider } from "@clawfleet/core"
import { FakeKubeApi } from "@clawfleet/core/testing"
import { Effect, Layer, Schedule } from "effect"
import * as K3s from "../src/index.ts"

export const platform = {
  tokenProxy: { namespace: "clawfleet", podLabels: { app: "token-proxy" }, port: 8080 },
  egressProxy: { namespace: "clawfleet", podLabels: { app: "egress-proxy" }, port: 3128 },
  toolBroker: { namespace: "clawfleet", podLabels: { app: "tool-broker" }, port: 8081 }
}

export type K3sConfigInput = Parameters<typeof K3s.layer>[0]["config"]

/**
 * The K3s provider against a fake API server whose controllers fill in status as a cluster's
 * would (Deployments become available, claims bind), with both services in the context.
 */
export const onFake = (config: Partial<K3sConfigInput> = {}, fake: Parameters<typeof FakeKubeApi.layer>[0] = {}) =>
  Layer.unwrap(Effect.map(FakeKubeApi, (api) => K3s.layer({ kubeConfig: api.kubeConfig(), config: { platform, ...config } }))).pipe(
    Layer.provideMerge(FakeKubeApi.layer({ controllers: true, ...fake }))
  )

/** Waits until the provider's view of the tenant passes `check` (its cache follows a watch). */
export const eventually = <E, R>(check: Effect.Effect<boolean, E, R>): Effect.Effect<void, E, R> =>
  Effect.repeat(check, { until: (ok) => ok, schedule: Schedule.spaced("10 millis") }).pipe(
    Effect.asVoid,
    Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.die(new Error("condition not reached within 5 s")) })
  )

export const observe = (tenant: string) => RuntimeProvider.use((p) => p.observe(tenant))
