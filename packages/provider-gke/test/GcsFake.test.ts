import { assert, describe, it } from "@effect/vitest"
import { ApiError, Storage } from "@google-cloud/storage"
import { Effect } from "effect"
import { call, failure, KMS_KEY, PROJECT, tenantBucket, withGcs } from "./support-gcp.ts"

describe("GcsFake: buckets", () => {
  it.live("creates, reads, patches and deletes a bucket with the fields the provider sets", () =>
    withGcs((fake, storage) =>
      Effect.gen(function* () {
        const [bucket] = yield* call(() => storage.createBucket("tenant-acme", tenantBucket as never))
        const created = bucket.metadata
        assert.strictEqual(created.kind, "storage#bucket")
        assert.strictEqual(created.id, "tenant-acme")
        assert.strictEqual(created.location, "EUROPE-WEST1")
        assert.strictEqual(created.locationType, "region")
        assert.strictEqual(created.metageneration, "1")
        assert.strictEqual(created.etag, "CAE=")
        assert.match(String(created.projectNumber), /^\d{12}$/)
        assert.isTrue(created.iamConfiguration?.uniformBucketLevelAccess?.enabled)
        assert.isString(created.iamConfiguration?.uniformBucketLevelAccess?.lockedTime)
        assert.strictEqual(created.iamConfiguration?.publicAccessPrevention, "enforced")
        assert.strictEqual(created.softDeletePolicy?.retentionDurationSeconds, "0")
        assert.deepStrictEqual(created.encryption, { defaultKmsKeyName: KMS_KEY })

        const [read] = yield* call(() => storage.bucket("tenant-acme").getMetadata())
        assert.deepStrictEqual(read, created)
        assert.deepStrictEqual(fake.bucket("tenant-acme"), read as never)

        const [patched] = yield* call(() =>
          storage.bucket("tenant-acme").setMetadata({ labels: { tier: "gold" }, softDeletePolicy: { retentionDurationSeconds: 604800 } })
        )
        assert.deepStrictEqual(patched.labels, { "clawfleet-tenant": "acme", tier: "gold" }, "a patch merges labels")
        assert.strictEqual(patched.softDeletePolicy?.retentionDurationSeconds, "604800")
        assert.strictEqual(patched.metageneration, "2")
        assert.notStrictEqual(patched.etag, created.etag)
        assert.deepStrictEqual(patched.iamConfiguration, created.iamConfiguration)
        assert.deepStrictEqual(patched.encryption, created.encryption)

        const [relabelled] = yield* call(() =>
          storage
            .bucket("tenant-acme")
            .setMetadata({ labels: { "clawfleet-tenant": null }, iamConfiguration: { publicAccessPrevention: "inherited" } })
        )
        assert.deepStrictEqual(relabelled.labels, { tier: "gold" }, "null removes a label")
        assert.strictEqual(relabelled.iamConfiguration?.publicAccessPrevention, "inherited")
        assert.deepStrictEqual(
          relabelled.iamConfiguration?.uniformBucketLevelAccess,
          created.iamConfiguration?.uniformBucketLevelAccess,
          "a patch merges nested fields"
        )

        const [unencrypted] = yield* call(() => storage.bucket("tenant-acme").setMetadata({ encryption: null }))
        assert.isUndefined(unencrypted.encryption)
        assert.strictEqual(fake.bucket("tenant-acme")?.metageneration, "4")

        yield* call(() => storage.bucket("tenant-acme").delete())
        assert.deepStrictEqual(fake.buckets(), [])
        const [exists] = yield* call(() => storage.bucket("tenant-acme").exists())
        assert.isFalse(exists)
        const gone = yield* failure(() => storage.bucket("tenant-acme").delete())
        assert.instanceOf(gone, ApiError)
        assert.strictEqual(gone.code, 404)
        assert.strictEqual(gone.message, "The specified bucket does not exist.")
      })
    )
  )

  it.live("lists a project's buckets by prefix, a page at a time", () =>
    withGcs(
      (fake, storage) =>
        Effect.gen(function* () {
          for (const name of ["tenant-c", "tenant-a", "tenant-b", "other"]) yield* call(() => storage.createBucket(name))
          fake.seedBucket("tenant-elsewhere", {}, { project: "proj-2" })
          const [first, next] = yield* call(() => storage.getBuckets({ prefix: "tenant-", maxResults: 2, autoPaginate: false }))
          assert.deepStrictEqual(
            first.map((b) => b.name),
            ["tenant-a", "tenant-b"]
          )
          assert.isString((next as { pageToken?: string }).pageToken)
          // With autoPaginate, maxResults caps the total; the fake's page size makes the client follow nextPageToken.
          const [all] = yield* call(() => storage.getBuckets({ prefix: "tenant-" }))
          assert.deepStrictEqual(
            all.map((b) => b.name),
            ["tenant-a", "tenant-b", "tenant-c"]
          )
          const lists = fake.requests().filter((r) => r.operation === "storage.buckets.list")
          assert.deepStrictEqual(
            lists.map((r) => r.query.pageToken !== undefined),
            [false, false, true]
          )
        }),
      { maxPageSize: 2 }
    )
  )

  it.live("refuses duplicate and invalid names and settings as GCS does", () =>
    withGcs((_fake, storage) =>
      Effect.gen(function* () {
        yield* call(() => storage.createBucket("tenant-acme"))
        const duplicate = yield* failure(() => storage.createBucket("tenant-acme"))
        assert.strictEqual(duplicate.code, 409)
        assert.strictEqual(duplicate.message, "Your previous request to create the named bucket succeeded and you already own it.")
        for (const name of ["Tenant-Acme", "ab", "-tenant", "tenant-", "tenant acme", "goog-tenant", "x".repeat(64), "192.168.1.1"]) {
          const bad = yield* failure(() => storage.createBucket(name))
          assert.strictEqual(bad.code, 400, name)
          assert.strictEqual(bad.message, `Invalid bucket name: '${name}'`)
        }
        yield* call(() => storage.createBucket("tenant.acme_data-1"))
        const badLabel = yield* failure(() => storage.createBucket("tenant-b", { labels: { Tenant: "acme" } } as never))
        assert.strictEqual(badLabel.code, 400)
        const badKey = yield* failure(() =>
          storage.createBucket("tenant-c", { location: "US", encryption: { defaultKmsKeyName: KMS_KEY } } as never)
        )
        assert.strictEqual(badKey.code, 400, "a key in europe-west1 cannot encrypt a bucket in US")
        const badRetention = yield* failure(() =>
          storage.bucket("tenant-acme").setMetadata({ softDeletePolicy: { retentionDurationSeconds: 3600 } })
        )
        assert.strictEqual(badRetention.code, 400)
      })
    )
  )

  it.live("refuses to delete a bucket with objects (409) until deleteFiles empties it", () =>
    withGcs((fake, storage) =>
      Effect.gen(function* () {
        const [bucket] = yield* call(() => storage.createBucket("tenant-acme"))
        for (let i = 0; i < 5; i++) fake.seedObject("tenant-acme", `state/${i}.json`, `{"n":${i}}`, "application/json")
        const notEmpty = yield* failure(() => bucket.delete())
        assert.strictEqual(notEmpty.code, 409)
        assert.strictEqual(notEmpty.message, "The bucket you tried to delete is not empty.")
        assert.isDefined(fake.bucket("tenant-acme"))
        yield* call(() => bucket.deleteFiles())
        assert.deepStrictEqual(fake.objects("tenant-acme"), [])
        yield* call(() => bucket.delete())
        assert.isUndefined(fake.bucket("tenant-acme"))
      })
    )
  )
})

describe("GcsFake: objects", () => {
  it.live("saves (resumable, multipart, chunked), lists, downloads and deletes objects", () =>
    withGcs(
      (fake, storage) =>
        Effect.gen(function* () {
          const [bucket] = yield* call(() => storage.createBucket("tenant-acme"))
          yield* call(() => bucket.file("config/openclaw.json").save('{"a":1}', { contentType: "application/json" }))
          yield* call(() => bucket.file("config/notes.txt").save("hello", { resumable: false }))
          const big = Buffer.alloc(600 * 1024, 7)
          yield* call(() => bucket.file("data/blob.bin").save(big, { chunkSize: 256 * 1024 }))
          assert.strictEqual(fake.objectData("tenant-acme", "data/blob.bin")?.length, big.length)
          const puts = fake.requests().filter((r) => r.method === "PUT")
          assert.strictEqual(puts.length, 4, "one PUT for the first upload, three chunks for the big one")

          const [notes] = yield* call(() => bucket.file("config/notes.txt").getMetadata())
          assert.strictEqual(notes.contentType, "text/plain")
          assert.strictEqual(notes.size, "5")
          const [content] = yield* call(() => bucket.file("config/openclaw.json").download())
          assert.strictEqual(content.toString(), '{"a":1}')

          const [config] = yield* call(() => bucket.getFiles({ prefix: "config/" }))
          assert.deepStrictEqual(
            config.map((f) => f.name),
            ["config/notes.txt", "config/openclaw.json"]
          )
          const [all] = yield* call(() => bucket.getFiles())
          assert.strictEqual(all.length, 3)
          const [top, , listing] = yield* call(() => bucket.getFiles({ delimiter: "/", autoPaginate: false }))
          assert.deepStrictEqual(top, [])
          assert.deepStrictEqual((listing as { prefixes?: ReadonlyArray<string> }).prefixes, ["config/", "data/"])
          assert.isAbove(
            fake.requests().filter((r) => r.operation === "storage.objects.list" && r.query.pageToken !== undefined).length,
            0,
            "the fake pages at maxPageSize"
          )

          yield* call(() => bucket.file("config/notes.txt").delete())
          assert.deepStrictEqual(
            fake.objects("tenant-acme").map((o) => o.name),
            ["config/openclaw.json", "data/blob.bin"]
          )
          const missing = yield* failure(() => bucket.file("config/notes.txt").delete())
          assert.strictEqual(missing.code, 404)
          assert.strictEqual(missing.message, "No such object: tenant-acme/config/notes.txt")
          const exclusive = yield* failure(() =>
            bucket.file("config/openclaw.json").save("{}", { preconditionOpts: { ifGenerationMatch: 0 } })
          )
          assert.strictEqual(exclusive.code, 412)
        }),
      { maxPageSize: 2 }
    )
  )
})

describe("GcsFake: faults and the request log", () => {
  it.live("failNext surfaces as the client's error code, once", () =>
    withGcs((fake, storage) =>
      Effect.gen(function* () {
        yield* call(() => storage.createBucket("tenant-acme"))
        fake.failNext(1, { status: 403, match: (r) => r.operation === "storage.buckets.get" })
        const denied = yield* failure(() => storage.bucket("tenant-acme").getMetadata())
        assert.strictEqual(denied.code, 403)
        assert.strictEqual(denied.message, "The caller does not have permission")
        yield* call(() => storage.bucket("tenant-acme").getMetadata())

        const noRetry = new Storage({ apiEndpoint: fake.url, projectId: PROJECT, retryOptions: { autoRetry: false } })
        fake.failNext(1, { status: 503, message: "Try later", afterServing: true })
        const lost = yield* failure(() => noRetry.createBucket("tenant-lost"))
        assert.strictEqual(lost.code, 503)
        assert.strictEqual(lost.message, "Try later")
        assert.isDefined(fake.bucket("tenant-lost"), "served before it failed")
        const again = yield* failure(() => noRetry.createBucket("tenant-lost"))
        assert.strictEqual(again.code, 409)
      })
    )
  )

  it.live("records every request; reads after a reset record no write", () =>
    withGcs((fake, storage) =>
      Effect.gen(function* () {
        const [bucket] = yield* call(() => storage.createBucket("tenant-acme"))
        yield* call(() => bucket.setMetadata({ labels: { a: "1" } }))
        assert.deepStrictEqual(
          fake.requests().map((r) => [r.method, r.path, r.operation, r.write]),
          [
            ["POST", "/storage/v1/b", "storage.buckets.insert", true],
            ["PATCH", "/storage/v1/b/tenant-acme", "storage.buckets.patch", true]
          ]
        )
        assert.strictEqual(fake.requests()[0]?.query.project, PROJECT)
        assert.deepStrictEqual(fake.requests()[1]?.body, { labels: { a: "1" } })
        fake.resetRequests()
        yield* call(() => bucket.getMetadata())
        yield* call(() => bucket.iam.getPolicy())
        assert.deepStrictEqual(
          fake.requests().map((r) => r.operation),
          ["storage.buckets.get", "storage.buckets.getIamPolicy"]
        )
        assert.isFalse(fake.requests().some((r) => r.write))

        fake.setLatency(60)
        const started = Date.now()
        yield* call(() => bucket.getMetadata())
        assert.isAtLeast(Date.now() - started, 55)
      })
    )
  )
})
