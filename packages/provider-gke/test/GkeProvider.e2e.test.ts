import { providerConformance } from "@clawfleet/core/testing"
import { describe, it } from "@effect/vitest"
import { Storage } from "@google-cloud/storage"
import { iam_v1 } from "@googleapis/iam"
import { KubeConfig } from "@kubernetes/client-node"
import { Effect } from "effect"
import { GoogleAuth } from "google-auth-library"
import * as Gke from "../src/index.ts"
import { platform } from "./support.ts"

// Opt-in: the conformance suite against a real GCP project and GKE cluster (see the README).
const projectId = process.env.CLAWFLEET_E2E_GCP_PROJECT
const projectNumber = process.env.CLAWFLEET_E2E_GCP_PROJECT_NUMBER
const kubeconfigPath = process.env.CLAWFLEET_E2E_KUBECONFIG

if (projectId === undefined || projectNumber === undefined || kubeconfigPath === undefined) {
  describe("gke provider on a real project", () => {
    it.skip("skipped: set CLAWFLEET_E2E_GCP_PROJECT, CLAWFLEET_E2E_GCP_PROJECT_NUMBER and CLAWFLEET_E2E_KUBECONFIG to run it", () => {})
  })
} else {
  const kubeConfig = new KubeConfig()
  kubeConfig.loadFromFile(kubeconfigPath)
  const auth = new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] })
  providerConformance(
    "gke on a real project",
    Gke.layer({
      kubeConfig,
      storage: new Storage({ projectId }),
      iam: new iam_v1.Iam({ auth: auth as never }),
      config: { projectId, projectNumber, platform, namespacePrefix: "e2e-", bucket: { prefix: `e2e-${projectId.slice(0, 12)}-` } }
    }),
    {
      readyWithinMs: 300_000,
      drift: (tenant) =>
        Effect.promise(async () => {
          const k8s = await import("@kubernetes/client-node")
          await kubeConfig.makeApiClient(k8s.AppsV1Api).deleteNamespacedDeployment({ name: "openclaw", namespace: `e2e-${tenant}` })
        })
    }
  )
}
