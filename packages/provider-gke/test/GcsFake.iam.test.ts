import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { call, failure, PROJECT, runner, tenantBucket, withGcs } from "./support-gcp.ts"

const DEFAULT_BINDINGS = [
  { role: "roles/storage.legacyBucketOwner", members: [`projectEditor:${PROJECT}`, `projectOwner:${PROJECT}`] },
  { role: "roles/storage.legacyBucketReader", members: [`projectViewer:${PROJECT}`] },
  { role: "roles/storage.legacyObjectOwner", members: [`projectEditor:${PROJECT}`, `projectOwner:${PROJECT}`] },
  { role: "roles/storage.legacyObjectReader", members: [`projectViewer:${PROJECT}`] }
]

describe("GcsFake: bucket IAM", () => {
  it.live("a getPolicy/setPolicy round trip keeps the default bindings and moves the etag", () =>
    withGcs((fake, storage) =>
      Effect.gen(function* () {
        const [bucket] = yield* call(() => storage.createBucket("tenant-acme", tenantBucket as never))
        const [policy] = yield* call(() => bucket.iam.getPolicy({ requestedPolicyVersion: 3 }))
        assert.deepStrictEqual(policy.bindings, DEFAULT_BINDINGS)
        assert.strictEqual(policy.etag, "CAE=")
        assert.strictEqual(fake.requests().at(-1)?.query.optionsRequestedPolicyVersion, "3")

        const [updated] = yield* call(() => bucket.iam.setPolicy({ ...policy, bindings: [...policy.bindings, runner] }))
        assert.deepStrictEqual(updated.bindings, [...DEFAULT_BINDINGS, runner])
        assert.strictEqual(updated.etag, "CAI=")
        assert.strictEqual(updated.version, 1)
        assert.deepStrictEqual(fake.policy("tenant-acme")?.bindings, [...DEFAULT_BINDINGS, runner])
        assert.strictEqual(fake.bucket("tenant-acme")?.metageneration, "2", "a policy change is a metadata change")

        const publicRead = { role: "roles/storage.objectViewer", members: ["allUsers"] }
        const blocked = yield* failure(() => bucket.iam.setPolicy({ ...updated, bindings: [...updated.bindings, publicRead] }))
        assert.strictEqual(blocked.code, 412, "public access prevention is enforced")
        const bad = yield* failure(() => bucket.iam.setPolicy({ bindings: [{ role: "roles/storage.objectViewer", members: ["acme"] }] }))
        assert.strictEqual(bad.code, 400)

        const logs = {
          role: "roles/storage.objectViewer",
          members: ["group:auditors@example.com"],
          condition: { title: "logs", expression: 'resource.name.startsWith("projects/_/buckets/tenant-acme/objects/logs/")' }
        }
        const unversioned = yield* failure(() => bucket.iam.setPolicy({ ...updated, bindings: [...updated.bindings, logs] }))
        assert.strictEqual(unversioned.code, 400, "conditions need version 3")
        const [conditional] = yield* call(() => bucket.iam.setPolicy({ ...updated, version: 3, bindings: [...updated.bindings, logs] }))
        assert.strictEqual(conditional.version, 3)
        const v1 = yield* failure(() => bucket.iam.getPolicy())
        assert.strictEqual(v1.code, 400, "a policy with conditions cannot be read as version 1")
        const [v3] = yield* call(() => bucket.iam.getPolicy({ requestedPolicyVersion: 3 }))
        assert.deepStrictEqual(v3.bindings.at(-1), logs)
      })
    )
  )

  it.live("a setPolicy with a stale etag fails with 412 after a concurrent edit, and the edit survives a retry", () =>
    withGcs((fake, storage) =>
      Effect.gen(function* () {
        const [bucket] = yield* call(() => storage.createBucket("tenant-acme"))
        const [stale] = yield* call(() => bucket.iam.getPolicy({ requestedPolicyVersion: 3 }))
        const auditor = { role: "roles/storage.objectViewer", members: ["group:auditors@example.com"] }
        const edited = fake.editPolicy("tenant-acme", (p) => {
          p.bindings.push(auditor)
        })
        assert.notStrictEqual(edited.etag, stale.etag)

        const conflict = yield* failure(() => bucket.iam.setPolicy({ ...stale, bindings: [...stale.bindings, runner] }))
        assert.strictEqual(conflict.code, 412)
        assert.deepStrictEqual(fake.policy("tenant-acme")?.bindings, [...DEFAULT_BINDINGS, auditor], "the stale write changed nothing")

        const [fresh] = yield* call(() => bucket.iam.getPolicy({ requestedPolicyVersion: 3 }))
        yield* call(() => bucket.iam.setPolicy({ ...fresh, bindings: [...fresh.bindings, runner] }))
        assert.deepStrictEqual(fake.policy("tenant-acme")?.bindings, [...DEFAULT_BINDINGS, auditor, runner])

        // The policy etag follows the metageneration, so a label change in between also makes it stale.
        const [before] = yield* call(() => bucket.iam.getPolicy())
        fake.editBucket("tenant-acme", (fields) => {
          fields.labels = { touched: "yes" }
        })
        const afterLabels = yield* failure(() => bucket.iam.setPolicy(before))
        assert.strictEqual(afterLabels.code, 412)
      })
    )
  )
})
