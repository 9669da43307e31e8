import { execFile } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { RuntimeProvider } from "@clawfleet/core"
import { intentDiff, Kinds, type KubeObject } from "@clawfleet/core/kubernetes"
import { FakeKubeApi, type FakeKubeRequest, testRuntime } from "@clawfleet/core/testing"
import * as K3s from "@clawfleet/provider-k3s"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { K3S_PROVIDER_KINDS } from "../../src/ops/install/rbac.ts"
import { installManifests, printManifests } from "../../src/ops/installManifests.ts"

const objects = installManifests({
  namespace: "clawfleet",
  image: "ghcr.io/clawfleet/server:1.0.0",
  publicUrl: "https://clawfleet.example.com",
  configSecretName: "clawfleet-config"
})
interface Rule {
  readonly apiGroups: ReadonlyArray<string>
  readonly resources: ReadonlyArray<string>
  readonly verbs: ReadonlyArray<string>
}
const rules = (objects.find((o) => o.kind === "ClusterRole") as unknown as { rules: ReadonlyArray<Rule> }).rules
const allows = (group: string, resource: string, verb: string) =>
  rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb))

const platform = {
  tokenProxy: { namespace: "clawfleet", podLabels: { app: "token-proxy" }, port: 8080 },
  egressProxy: { namespace: "clawfleet", podLabels: { app: "egress-proxy" }, port: 3128 },
  toolBroker: { namespace: "clawfleet", podLabels: { app: "tool-broker" }, port: 8081 }
}
// The provider with everything switched on (the agent's Service, the Ingress), so every kind it can write is written.
const config = { platform, agent: { bundle: "export {}" }, ingress: { domain: "claw.example.com" } }

/** The RBAC verbs a request needs. A server-side apply is a patch, and a create when the object is new. */
const verbsOf = (r: FakeKubeRequest): ReadonlyArray<string> => (r.verb === "apply" ? ["patch", "create"] : [r.verb])
const groupOf = (r: FakeKubeRequest) => (r.apiVersion?.includes("/") ? r.apiVersion.split("/")[0]! : "")

describe("the server's ClusterRole and the K3s provider", () => {
  const kindsRendered = K3s.renderTenant(
    Schema.decodeUnknownSync(K3s.K3sConfig)(config),
    testRuntime("ada", { access: { ...testRuntime("ada").access, skills: ["pdf"] } })
  ).map((r) => r.kind)

  layer(
    Layer.unwrap(Effect.map(FakeKubeApi, (api) => K3s.layer({ kubeConfig: api.kubeConfig(), config }))).pipe(
      Layer.provideMerge(FakeKubeApi.layer({ controllers: true }))
    ),
    { excludeTestServices: true, timeout: 60_000 }
  )((it) => {
    it.effect("names exactly the kinds the provider renders", () =>
      Effect.sync(() => {
        const named = rules.flatMap((r) => r.resources.map((res) => `${r.apiGroups[0]}/${res}`)).sort()
        const rendered = [...new Set(kindsRendered)].map((k) => {
          const { apiVersion, plural } = Kinds[k as keyof typeof Kinds]
          return `${apiVersion.includes("/") ? apiVersion.split("/")[0] : ""}/${plural}`
        })
        assert.deepStrictEqual(named, [...rendered].sort())
        assert.sameMembers([...new Set(kindsRendered)], [...K3S_PROVIDER_KINDS])
      })
    )

    it.effect("allows every request of a tenant's whole life, and the provider uses every verb it grants", () =>
      Effect.gen(function* () {
        const api = yield* FakeKubeApi
        const provider = yield* RuntimeProvider
        const withSkills = (skills: ReadonlyArray<string>) =>
          testRuntime("ada", { access: { ...testRuntime("ada").access, skills: [...skills] } })
        const ns = "claw-ada"
        // Everything from the provider's start is in the log: the lists and watches of its cache too.
        yield* provider.apply(withSkills(["pdf", "web"]))
        yield* provider.apply(withSkills(["web"])) // prunes skill-pdf
        yield* provider.suspend(withSkills(["web"]))
        yield* provider.resume(withSkills(["web"]))
        // Another manager takes a field; the provider's next change conflicts and it reads the object back.
        yield* Effect.promise(async () => {
          const k8s = await import("@kubernetes/client-node")
          const core = api.kubeConfig().makeApiClient(k8s.CoreV1Api)
          await core.patchNamespacedResourceQuota(
            {
              name: "tenant-quota",
              namespace: ns,
              body: { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenant-quota" }, spec: { hard: { pods: "5" } } },
              fieldManager: "ops-team",
              force: true
            },
            k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.ServerSideApply)
          )
        })
        const rt = withSkills(["web"])
        const bigger = testRuntime("ada", { ...rt, spec: { ...rt.spec, resources: { ...rt.spec.resources, cpu: "2" as never } } as never })
        const conflict = yield* Effect.flip(provider.apply(bigger))
        assert.strictEqual(conflict.reason, "Conflict")
        yield* provider.destroy("ada", { data: "delete" })

        const requests = api.requests().filter((r) => r.resource !== undefined && r.fieldManager !== "ops-team")
        const denied = requests.flatMap((r) =>
          verbsOf(r)
            .filter((v) => !allows(groupOf(r), r.resource!, v))
            .map((v) => `${v} ${groupOf(r)}/${r.resource}`)
        )
        assert.deepStrictEqual([...new Set(denied)], [], "requests the ClusterRole does not allow")
        const used = new Set(requests.flatMap(verbsOf))
        const granted = new Set(rules.flatMap((r) => r.verbs))
        assert.deepStrictEqual([...granted].sort(), [...used].sort(), "verbs granted but never used, or used but not granted")
        const resources = new Set(requests.map((r) => `${groupOf(r)}/${r.resource}`))
        assert.deepStrictEqual(
          [...resources].sort(),
          rules.flatMap((r) => r.resources.map((res) => `${r.apiGroups[0]}/${res}`)).sort(),
          "resources granted but never touched, or touched but not granted"
        )
      })
    )
  })
})

// kubectl is the reader that matters: if it applies the printed YAML, a cluster gets these objects.
const kubectlPath = await new Promise<string | undefined>((resolve) =>
  execFile("kubectl", ["version", "--client"], (err) => resolve(err ? undefined : "kubectl"))
)
const kubectl = (kubeconfig: string, args: ReadonlyArray<string>, stdin: string) =>
  Effect.callback<string, Error>((resume) => {
    const child = execFile("kubectl", ["--kubeconfig", kubeconfig, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resume(err ? Effect.fail(new Error(`kubectl ${args.join(" ")}: ${stderr || err.message}`)) : Effect.succeed(stdout))
    )
    child.stdin?.end(stdin)
  })

describe("printManifests and kubectl", () => {
  layer(
    FakeKubeApi.layer({
      // Kinds the fake does not serve by default; the upstream schemas check them in installManifests.test.ts.
      resources: [
        { group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRole", plural: "clusterroles", namespaced: false },
        { group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRoleBinding", plural: "clusterrolebindings", namespaced: false },
        { group: "policy", version: "v1", kind: "PodDisruptionBudget", plural: "poddisruptionbudgets" }
      ]
    }),
    { excludeTestServices: true, timeout: 60_000 }
  )((it) => {
    it.effect.skipIf(kubectlPath === undefined)("applies with the real kubectl, every object arriving as built", () =>
      Effect.acquireUseRelease(
        Effect.promise(() => mkdtemp(join(tmpdir(), "clawfleet-install-"))),
        (dir) =>
          Effect.gen(function* () {
            const api = yield* FakeKubeApi
            const kubeconfig = join(dir, "config")
            yield* Effect.promise(() => writeFile(kubeconfig, api.kubeConfig().exportConfig()))
            const out = yield* kubectl(
              kubeconfig,
              ["apply", "--server-side", "--field-manager=clawfleet-install", "-f", "-"],
              printManifests(objects)
            )
            assert.strictEqual(out.trim().split("\n").length, objects.length, out)
            for (const o of objects) {
              const live = api.get(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name)
              assert.isDefined(live, `${o.kind}/${o.metadata.name}`)
              assert.deepStrictEqual(intentDiff(live as KubeObject, o), [], `${o.kind}/${o.metadata.name}`)
            }
          }),
        (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
      )
    )
  })
})
