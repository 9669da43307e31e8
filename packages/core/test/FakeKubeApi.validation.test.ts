import { assert, describe, it } from "@effect/vitest"
import * as k8s from "@kubernetes/client-node"
import { Effect } from "effect"
import { call, deployment, failure, withFake } from "./support/fakeKube.ts"

describe("FakeKubeApi: validation", () => {
  it.live("answers 422 Invalid with causes for a Deployment the apiserver would refuse", () =>
    withFake((_fake, kc) =>
      Effect.gen(function* () {
        const apps = kc.makeApiClient(k8s.AppsV1Api)
        const noImage = deployment("web")
        noImage.spec!.template.spec!.containers = [{ name: "app" } as k8s.V1Container]
        const e1 = yield* failure(() => apps.createNamespacedDeployment({ namespace: "default", body: noImage }))
        assert.strictEqual(e1.code, 422)
        assert.strictEqual(e1.status.reason, "Invalid")
        assert.strictEqual(e1.status.message, 'Deployment.apps "web" is invalid: spec.template.spec.containers[0].image: Required value')
        assert.deepStrictEqual(e1.status.details, {
          name: "web",
          group: "apps",
          kind: "Deployment",
          causes: [{ reason: "FieldValueRequired", message: "Required value", field: "spec.template.spec.containers[0].image" }]
        })

        const wrongType = { ...deployment("web"), spec: { ...deployment("web").spec!, replicas: "three" as unknown as number } }
        const e2 = yield* failure(() => apps.createNamespacedDeployment({ namespace: "default", body: wrongType }))
        assert.strictEqual(e2.code, 422)
        assert.deepStrictEqual(
          e2.status.details.causes.map((c: { field: string; reason: string }) => [c.reason, c.field]),
          [["FieldValueInvalid", "spec.replicas"]]
        )

        const mismatch = { ...deployment("web"), spec: { ...deployment("web").spec!, selector: { matchLabels: { app: "other" } } } }
        const e3 = yield* failure(() => apps.createNamespacedDeployment({ namespace: "default", body: mismatch }))
        assert.match(e3.status.message, /`selector` does not match template `labels`/)

        const badName = yield* failure(() => apps.createNamespacedDeployment({ namespace: "default", body: deployment("Bad_Name") }))
        assert.strictEqual(badName.code, 422)
        assert.match(
          badName.status.message,
          /^Deployment\.apps "Bad_Name" is invalid: \[?metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/
        )

        const created = yield* call(() => apps.createNamespacedDeployment({ namespace: "default", body: deployment("web") }))
        const immutable = yield* failure(() =>
          apps.replaceNamespacedDeployment({
            name: "web",
            namespace: "default",
            body: {
              ...created,
              spec: {
                ...created.spec!,
                selector: { matchLabels: { app: "web", v: "2" } },
                template: { ...created.spec!.template, metadata: { labels: { app: "web", v: "2" } } }
              }
            }
          })
        )
        assert.strictEqual(immutable.code, 422)
        assert.match(immutable.status.message, /spec\.selector: Invalid value: .*field is immutable/)
      })
    )
  )

  it.live("validates ConfigMaps against their schema unless told not to", () =>
    Effect.gen(function* () {
      const body = { metadata: { name: "typed" }, data: { port: 8080 as unknown as string } }
      const strict = yield* withFake((_f, kc) =>
        failure(() => kc.makeApiClient(k8s.CoreV1Api).createNamespacedConfigMap({ namespace: "default", body }))
      )
      assert.strictEqual(strict.code, 422)
      assert.strictEqual(strict.status.details.causes[0].field, "data.port")
      const lax = yield* withFake(
        (_f, kc) => call(() => kc.makeApiClient(k8s.CoreV1Api).createNamespacedConfigMap({ namespace: "default", body })),
        { validate: false }
      )
      assert.strictEqual(lax.metadata?.name, "typed")
    })
  )
})
