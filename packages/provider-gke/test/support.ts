import { FakeKubeApi } from "@clawfleet/core/testing"
import { Storage } from "@google-cloud/storage"
import { iam_v1 } from "@googleapis/iam"
import { Effect, Layer } from "effect"
import { OAuth2Client } from "google-auth-library"
import * as Gke from "../src/index.ts"
import { GcsFake, IamFake } from "../src/testing/index.ts"

export const platform = {
  tokenProxy: { namespace: "clawfleet", podLabels: { app: "token-proxy" }, port: 8080 },
  egressProxy: { namespace: "clawfleet", podLabels: { app: "egress-proxy" }, port: 3128 },
  toolBroker: { namespace: "clawfleet", podLabels: { app: "tool-broker" }, port: 8081 }
}
export const project = { projectId: "acme-claw", projectNumber: "123456789012" }

// The custom kinds the provider may emit, registered as a cluster with Cilium and Gateway API has them.
const crds = [
  { group: "cilium.io", version: "v2", kind: "CiliumNetworkPolicy", plural: "ciliumnetworkpolicies", namespaced: true, generation: true },
  {
    group: "gateway.networking.k8s.io",
    version: "v1",
    kind: "HTTPRoute",
    plural: "httproutes",
    namespaced: true,
    generation: true,
    statusSubresource: true
  }
]

/** The GKE provider against the fake API server and the GCS and IAM fakes, through the real clients. */
export const onFakes = (config: Record<string, unknown> = {}) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const kube = yield* FakeKubeApi
      const gcs = yield* GcsFake
      const iamFake = yield* IamFake
      const auth = new OAuth2Client()
      auth.setCredentials({ access_token: "test-token" })
      return Gke.layer({
        kubeConfig: kube.kubeConfig(),
        config: { ...project, platform, ...config } as never,
        storage: new Storage({ apiEndpoint: gcs.url, projectId: project.projectId }),
        iam: new iam_v1.Iam({ auth: auth as never, rootUrl: `${iamFake.url}/` })
      })
    })
  ).pipe(Layer.provideMerge(Layer.mergeAll(FakeKubeApi.layer({ controllers: true, resources: crds }), GcsFake.layer(), IamFake.layer())))
