import { FakeKubeApi, type FakeKubeApiOptions } from "@clawfleet/core/testing"
import type * as k8s from "@kubernetes/client-node"
import { Effect } from "effect"

// Runs `body` against a fresh server, closed when the test ends.
export const withFake = <A, E>(
  body: (fake: FakeKubeApi["Service"], kc: k8s.KubeConfig) => Effect.Effect<A, E>,
  options?: FakeKubeApiOptions
) =>
  Effect.gen(function* () {
    const fake = yield* FakeKubeApi
    return yield* body(fake, fake.kubeConfig())
  }).pipe(Effect.provide(FakeKubeApi.layer(options)))

export const call = <A>(f: () => Promise<A>) => Effect.promise(f)

/** The ApiException a call fails with, and its Status body. */
export const failure = (f: () => Promise<unknown>) =>
  Effect.map(Effect.flip(Effect.tryPromise({ try: f, catch: (e) => e as k8s.ApiException<string> })), (e) => ({
    code: e.code,
    headers: e.headers,
    status: JSON.parse(e.body) as Record<string, any>
  }))

export const deployment = (name: string, image = "nginx:1", extra: Record<string, unknown> = {}): k8s.V1Deployment => ({
  metadata: { name, labels: { app: name } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image }] } },
    ...extra
  }
})
