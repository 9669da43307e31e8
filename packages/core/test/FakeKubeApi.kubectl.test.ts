import { execFile } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { withFake } from "./support/fakeKube.ts"

const kubectlPath = await new Promise<string | undefined>((resolve) =>
  execFile("kubectl", ["version", "--client"], (err) => resolve(err ? undefined : "kubectl"))
)

const kubectl = (kubeconfig: string, args: ReadonlyArray<string>, stdin?: string) =>
  Effect.callback<string, Error>((resume) => {
    const child = execFile("kubectl", ["--kubeconfig", kubeconfig, ...args], { timeout: 20_000 }, (err, stdout, stderr) =>
      resume(err ? Effect.fail(new Error(`kubectl ${args.join(" ")}: ${stderr || err.message}`)) : Effect.succeed(stdout))
    )
    if (stdin !== undefined) child.stdin?.end(stdin)
  })

describe("FakeKubeApi: kubectl", () => {
  // Skipped only when kubectl is not installed: the fake needs no cluster, but this test needs the binary.
  it.live.skipIf(kubectlPath === undefined)("drives the real kubectl: server-side apply, get -o json, delete", () =>
    withFake((fake, kc) =>
      Effect.acquireUseRelease(
        Effect.promise(() => mkdtemp(join(tmpdir(), "fake-kube-"))),
        (dir) =>
          Effect.gen(function* () {
            const config = join(dir, "config")
            yield* Effect.promise(() => writeFile(config, kc.exportConfig()))
            const manifest = JSON.stringify({
              apiVersion: "v1",
              kind: "ConfigMap",
              metadata: { name: "from-kubectl", namespace: "default" },
              data: { greeting: "hi" }
            })
            const out = yield* kubectl(config, ["apply", "--server-side", "-f", "-"], manifest)
            assert.match(out, /configmap\/from-kubectl serverside-applied/)
            const stored = fake.get("v1", "ConfigMap", "default", "from-kubectl")
            assert.deepStrictEqual(
              stored?.metadata?.managedFields?.map((m) => [m.manager, m.operation, m.fieldsV1]),
              [["kubectl", "Apply", { "f:data": { "f:greeting": {} } }]]
            )
            const got = JSON.parse(yield* kubectl(config, ["get", "configmap", "from-kubectl", "-n", "default", "-o", "json"]))
            assert.deepStrictEqual(got.data, { greeting: "hi" })

            fake.mutate(
              { apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "from-kubectl" },
              (cm) => void (cm.data = { greeting: "changed" }),
              {
                fieldManager: "operator"
              }
            )
            const conflict = yield* Effect.flip(kubectl(config, ["apply", "--server-side", "-f", "-"], manifest))
            assert.match(conflict.message, /conflict with "operator"/)

            const deleted = yield* kubectl(config, ["delete", "configmap", "from-kubectl", "-n", "default"])
            assert.match(deleted, /configmap "from-kubectl" deleted/)
            assert.isUndefined(fake.get("v1", "ConfigMap", "default", "from-kubectl"))
          }),
        (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
      )
    )
  )
})
