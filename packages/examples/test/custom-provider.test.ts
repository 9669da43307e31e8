import { mkdtempSync, rmSync, statSync } from "node:fs"
import { readdir, readFile, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { ManagedResource } from "@clawfleet/core"
import { restrictedViolations } from "@clawfleet/core/kubernetes"
import { providerConformance, testRuntime } from "@clawfleet/core/testing"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as GitOps from "../custom-provider/GitOpsProvider.ts"

const tenantDir = (base: string, tenant: string) => join(base, "tenants", tenant)
// Each conformance run gets its own checkout: both use the same tenant names.
const checkout = (label: string) => {
  const dir = mkdtempSync(join(tmpdir(), `clawfleet-gitops-${label}-`))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

// A hand edit in the checkout: the workload's file changed behind the provider's back.
const editDeployment = (root: string) => (tenant: string) =>
  Effect.promise(async () => {
    const file = join(tenantDir(root, tenant), "deployment-openclaw.json")
    const d = JSON.parse(await readFile(file, "utf8"))
    d.spec.replicas = 3
    await writeFile(file, JSON.stringify(d))
  })

const honestRoot = checkout("honest")
providerConformance("gitops files, as shipped (no observer)", GitOps.layer({ root: honestRoot }), {
  drift: editDeployment(honestRoot),
  readiness: { skip: "a file writer cannot see the cluster; Argo CD/Flux health says when it is Ready" }
})

/**
 * A stand-in for the cluster the files are synced to: it "applies" the written files instantly, so
 * a capability is up when its object is written (and the Deployment has a replica). It stands where
 * a real deployment reads Argo CD or Flux health; the provider alone never claims readiness.
 */
const instantCluster = (_tenant: string, written: ReadonlyArray<ManagedResource>) => {
  const has = (kind: string) => written.some((r) => r.kind === kind)
  const up = (ok: boolean, kind: string) =>
    ok ? { ready: true, reason: "Synced", message: `${kind} synced` } : { ready: false, reason: "Missing", message: `no ${kind}` }
  const running = written.some((r) => r.kind === "Deployment" && ((r.spec as { spec?: { replicas?: number } }).spec?.replicas ?? 0) > 0)
  return Effect.succeed({
    storage: up(has("PersistentVolumeClaim"), "PersistentVolumeClaim"),
    identity: up(has("ServiceAccount"), "ServiceAccount"),
    network: up(has("NetworkPolicy"), "NetworkPolicy"),
    workload: up(running, "Deployment")
  })
}

const syncedRoot = checkout("synced")
providerConformance("gitops files with a stand-in instantly-syncing cluster", GitOps.layer({ root: syncedRoot, observe: instantCluster }), {
  drift: editDeployment(syncedRoot),
  readyWithinMs: 5_000
})

const EXPECTED_FILES = [
  "configmap-openclaw-config.json",
  "deployment-openclaw.json",
  "kustomization.yaml",
  "namespace-claw-ada.json",
  "networkpolicy-allow-dns.json",
  "networkpolicy-allow-gateway.json",
  "networkpolicy-allow-platform.json",
  "networkpolicy-default-deny.json",
  "persistentvolumeclaim-state.json",
  "serviceaccount-openclaw.json"
]

describe("gitops provider files", () => {
  const base = mkdtempSync(join(tmpdir(), "clawfleet-gitops-files-"))
  afterAll(() => rmSync(base, { recursive: true, force: true }))
  const provider = GitOps.makeGitOpsProvider({ root: base })
  const dir = tenantDir(base, "ada")
  const read = (file: string) => Effect.promise(() => readFile(join(dir, file), "utf8"))

  it.effect("writes exactly the expected files for a tenant, listed by its kustomization", () =>
    Effect.gen(function* () {
      yield* provider.apply(testRuntime("ada"))
      const files = yield* Effect.promise(() => readdir(dir))
      assert.deepStrictEqual([...files].sort(), EXPECTED_FILES)
      assert.strictEqual(yield* read("kustomization.yaml"), GitOps.kustomization(EXPECTED_FILES.filter((f) => f.endsWith(".json"))))
      const d = JSON.parse(yield* read("deployment-openclaw.json"))
      assert.deepStrictEqual(restrictedViolations(d.spec.template.spec), [])
      assert.strictEqual(d.spec.template.spec.containers[0].image, "ghcr.io/openclaw/openclaw:2026.9.6")
      const cm = JSON.parse(yield* read("configmap-openclaw-config.json"))
      assert.deepStrictEqual(JSON.parse(cm.data["openclaw.json"]), testRuntime("ada").openclaw.config)
      // Without an observer the provider claims nothing it cannot see.
      const seen = yield* provider.observe("ada")
      assert.isTrue(seen.exists)
      for (const cap of ["storage", "identity", "network", "workload"] as const) {
        assert.isFalse(seen[cap].ready)
        assert.strictEqual(seen[cap].reason, "AwaitingSync")
      }
    })
  )

  it.live("a second apply rewrites nothing: every file keeps its mtime", () =>
    Effect.gen(function* () {
      yield* provider.apply(testRuntime("ada"))
      const mtimes = () => EXPECTED_FILES.map((f) => [f, statSync(join(dir, f)).mtimeMs] as const)
      const before = mtimes()
      yield* Effect.sleep("30 millis")
      const again = yield* provider.apply(testRuntime("ada"))
      assert.isTrue(again.changes.every((c) => c.action === "unchanged"))
      assert.deepStrictEqual(mtimes(), before)
      const leftovers = (yield* Effect.promise(() => readdir(dir))).filter((f) => f.startsWith("."))
      assert.deepStrictEqual(leftovers, [], "no temporary files left behind")
    })
  )
})
