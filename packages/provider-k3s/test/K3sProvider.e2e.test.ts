import { providerConformance } from "@clawfleet/core/testing"
import { describe, it } from "@effect/vitest"
import { KubeConfig } from "@kubernetes/client-node"
import { Effect } from "effect"
import * as K3s from "../src/index.ts"
import { platform } from "./support.ts"

// Opt-in: the same conformance suite against a real cluster (k3d or K3s; see the README).
const kubeconfigPath = process.env.CLAWFLEET_E2E_KUBECONFIG

if (kubeconfigPath === undefined) {
  describe("k3s provider on a real cluster", () => {
    it.skip("skipped: set CLAWFLEET_E2E_KUBECONFIG to a kubeconfig to run the conformance suite against a real cluster", () => {})
  })
} else {
  const kubeConfig = new KubeConfig()
  kubeConfig.loadFromFile(kubeconfigPath)
  providerConformance(
    "k3s on a real cluster",
    K3s.layer({
      kubeConfig,
      config: { platform, namespacePrefix: "e2e-", image: process.env.CLAWFLEET_E2E_IMAGE ?? "ghcr.io/openclaw/openclaw" }
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
