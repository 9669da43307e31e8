import { assert, describe, it } from "@effect/vitest"
import { ApiError, Storage } from "@google-cloud/storage"
import { iam_v1 } from "@googleapis/iam"
import { Effect } from "effect"
import { OAuth2Client } from "google-auth-library"
import { EMPTY_POLICY_ETAG, GcsFake, type GcsFakeOptions, IamFake, type IamFakeOptions } from "../src/testing/index.ts"

const PROJECT = "proj-1"
const KMS_KEY = `projects/${PROJECT}/locations/europe-west1/keyRings/tenants/cryptoKeys/acme`

const call = <A>(f: () => Promise<A>) => Effect.promise(f)

/** What a rejected call of either client carries: Storage's `ApiError` has `code`, gaxios' error has `status` and the body. */
interface ClientError {
  readonly code?: number | string
  readonly status?: number
  readonly message: string
  readonly response?: { readonly data?: { readonly error?: { readonly code: number; readonly message: string; readonly status: string } } }
}

/** The error `f` rejects with; fails the test when it resolves. */
const failure = (f: () => Promise<unknown>) =>
  Effect.tryPromise({ try: f, catch: (e) => e as ClientError }).pipe(
    Effect.flatMap((value) => Effect.die(new Error(`expected a failure, got ${JSON.stringify(value)}`))),
    Effect.flip
  )

const withGcs = <A, E>(body: (fake: GcsFake["Service"], storage: Storage) => Effect.Effect<A, E>, options?: GcsFakeOptions) =>
  Effect.gen(function* () {
    const fake = yield* GcsFake
    return yield* body(fake, new Storage({ apiEndpoint: fake.url, projectId: PROJECT }))
  }).pipe(Effect.provide(GcsFake.layer(options)))

const withIam = <A, E>(body: (fake: IamFake["Service"], iam: iam_v1.Iam) => Effect.Effect<A, E>, options?: IamFakeOptions) =>
  Effect.gen(function* () {
    const fake = yield* IamFake
    const auth = new OAuth2Client()
    auth.setCredentials({ access_token: "fake-token" })
    return yield* body(fake, new iam_v1.Iam({ auth: auth as never, rootUrl: `${fake.url}/` }))
  }).pipe(Effect.provide(IamFake.layer(options)))

const tenantBucket = {
  location: "europe-west1",
  storageClass: "STANDARD",
  labels: { "clawfleet-tenant": "acme" },
  iamConfiguration: { uniformBucketLevelAccess: { enabled: true }, publicAccessPrevention: "enforced" },
  softDeletePolicy: { retentionDurationSeconds: 0 },
  encryption: { defaultKmsKeyName: KMS_KEY }
}

const DEFAULT_BINDINGS = [
  { role: "roles/storage.legacyBucketOwner", members: [`projectEditor:${PROJECT}`, `projectOwner:${PROJECT}`] },
  { role: "roles/storage.legacyBucketReader", members: [`projectViewer:${PROJECT}`] },
  { role: "roles/storage.legacyObjectOwner", members: [`projectEditor:${PROJECT}`, `projectOwner:${PROJECT}`] },
  { role: "roles/storage.legacyObjectReader", members: [`projectViewer:${PROJECT}`] }
]

const runner = { role: "roles/storage.objectAdmin", members: [`serviceAccount:acme@${PROJECT}.iam.gserviceaccount.com`] }

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

const saResource = (email: string) => `projects/${PROJECT}/serviceAccounts/${email}`
const wiBinding = { role: "roles/iam.workloadIdentityUser", members: [`serviceAccount:${PROJECT}.svc.id.goog[tenant-acme/runner]`] }

describe("IamFake: service accounts", () => {
  it.live("creates, gets, lists, patches and deletes service accounts", () =>
    withIam((fake, iam) =>
      Effect.gen(function* () {
        const { data: sa } = yield* call(() =>
          iam.projects.serviceAccounts.create({
            name: `projects/${PROJECT}`,
            requestBody: { accountId: "tenant-acme", serviceAccount: { displayName: "Tenant acme" } }
          })
        )
        assert.strictEqual(sa.email, `tenant-acme@${PROJECT}.iam.gserviceaccount.com`)
        assert.strictEqual(sa.name, saResource(sa.email ?? ""))
        assert.strictEqual(sa.projectId, PROJECT)
        assert.strictEqual(sa.displayName, "Tenant acme")
        assert.match(sa.uniqueId ?? "", /^\d{21}$/)
        const email = sa.email ?? ""

        const { data: read } = yield* call(() => iam.projects.serviceAccounts.get({ name: saResource(email) }))
        assert.deepStrictEqual(read, sa)
        const { data: byId } = yield* call(() => iam.projects.serviceAccounts.get({ name: `projects/-/serviceAccounts/${sa.uniqueId}` }))
        assert.strictEqual(byId.email, email)

        fake.seedServiceAccount(PROJECT, "tenant-beta")
        fake.seedServiceAccount("proj-2", "tenant-gamma")
        const { data: firstPage } = yield* call(() => iam.projects.serviceAccounts.list({ name: `projects/${PROJECT}`, pageSize: 1 }))
        assert.deepStrictEqual(
          firstPage.accounts?.map((a) => a.email),
          [email]
        )
        const { data: secondPage } = yield* call(() =>
          iam.projects.serviceAccounts.list({ name: `projects/${PROJECT}`, pageSize: 1, pageToken: firstPage.nextPageToken ?? "" })
        )
        assert.deepStrictEqual(
          secondPage.accounts?.map((a) => a.email),
          [`tenant-beta@${PROJECT}.iam.gserviceaccount.com`]
        )
        assert.isUndefined(secondPage.nextPageToken)

        const { data: patched } = yield* call(() =>
          iam.projects.serviceAccounts.patch({
            name: saResource(email),
            requestBody: { serviceAccount: { displayName: "Tenant ACME" }, updateMask: "displayName" }
          })
        )
        assert.strictEqual(patched.displayName, "Tenant ACME")

        const { data: deleted } = yield* call(() => iam.projects.serviceAccounts.delete({ name: saResource(email) }))
        assert.deepStrictEqual(deleted, {})
        assert.isUndefined(fake.serviceAccount(email))
        for (const f of [
          () => iam.projects.serviceAccounts.get({ name: saResource(email) }),
          () => iam.projects.serviceAccounts.delete({ name: saResource(email) })
        ]) {
          const gone = yield* failure(f)
          assert.strictEqual(gone.status, 404)
          assert.strictEqual(gone.response?.data?.error?.status, "NOT_FOUND")
        }
      })
    )
  )

  it.live("refuses a duplicate account id (409 ALREADY_EXISTS) and invalid ones (400 INVALID_ARGUMENT)", () =>
    withIam((fake, iam) =>
      Effect.gen(function* () {
        const create = (accountId: string) => () =>
          iam.projects.serviceAccounts.create({ name: `projects/${PROJECT}`, requestBody: { accountId } })
        yield* call(create("tenant-acme"))
        const duplicate = yield* failure(create("tenant-acme"))
        assert.strictEqual(duplicate.status, 409)
        assert.deepStrictEqual(duplicate.response?.data?.error, {
          code: 409,
          message: `Service account tenant-acme already exists within project projects/${PROJECT}.`,
          status: "ALREADY_EXISTS"
        })
        for (const accountId of ["short", "Tenant-acme", "1tenant", "tenant-", "tenant_acme", "t".repeat(31)]) {
          const bad = yield* failure(create(accountId))
          assert.strictEqual(bad.status, 400, accountId)
          assert.strictEqual(bad.response?.data?.error?.status, "INVALID_ARGUMENT")
        }
        yield* call(create("t".repeat(30)))
        assert.strictEqual(fake.serviceAccounts().length, 2)
      })
    )
  )
})

describe("IamFake: service account IAM policies", () => {
  it.live("round-trips a policy, and a stale etag fails with 409 ABORTED after a concurrent edit", () =>
    withIam((fake, iam) =>
      Effect.gen(function* () {
        const email = fake.seedServiceAccount(PROJECT, "tenant-acme").email
        const resource = saResource(email)
        const { data: empty } = yield* call(() =>
          iam.projects.serviceAccounts.getIamPolicy({ resource, "options.requestedPolicyVersion": 3 })
        )
        assert.deepStrictEqual(empty, { version: 1, etag: EMPTY_POLICY_ETAG })

        const { data: set } = yield* call(() =>
          iam.projects.serviceAccounts.setIamPolicy({
            resource,
            requestBody: { policy: { bindings: [wiBinding], etag: empty.etag ?? "" } }
          })
        )
        assert.deepStrictEqual(set.bindings, [wiBinding])
        assert.notStrictEqual(set.etag, EMPTY_POLICY_ETAG)

        const user = { role: "roles/iam.serviceAccountUser", members: ["user:ops@example.com"] }
        fake.editPolicy(email, (p) => {
          p.bindings.push(user)
        })
        const second = { role: "roles/iam.workloadIdentityUser", members: [`serviceAccount:${PROJECT}.svc.id.goog[tenant-acme/other]`] }
        const conflict = yield* failure(() =>
          iam.projects.serviceAccounts.setIamPolicy({
            resource,
            requestBody: { policy: { bindings: [wiBinding, second], etag: set.etag ?? "" } }
          })
        )
        assert.strictEqual(conflict.status, 409)
        assert.deepStrictEqual(conflict.response?.data?.error, {
          code: 409,
          message: "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.",
          status: "ABORTED"
        })
        assert.deepStrictEqual(fake.policy(email)?.bindings, [wiBinding, user])

        const { data: fresh } = yield* call(() => iam.projects.serviceAccounts.getIamPolicy({ resource }))
        yield* call(() =>
          iam.projects.serviceAccounts.setIamPolicy({
            resource,
            requestBody: { policy: { bindings: [...(fresh.bindings ?? []), second], etag: fresh.etag ?? "" } }
          })
        )
        assert.deepStrictEqual(fake.policy(email)?.bindings, [wiBinding, user, second])

        const unsupported = yield* failure(() =>
          iam.projects.serviceAccounts.setIamPolicy({ resource, requestBody: { policy: { bindings: [runner] } } })
        )
        assert.strictEqual(unsupported.status, 400)
        assert.strictEqual(unsupported.response?.data?.error?.message, "Role roles/storage.objectAdmin is not supported for this resource.")
        const missing = yield* failure(() =>
          iam.projects.serviceAccounts.getIamPolicy({ resource: saResource(`nobody@${PROJECT}.iam.gserviceaccount.com`) })
        )
        assert.strictEqual(missing.status, 404)
      })
    )
  )

  it.live("refuses workload identity members of a pool that does not exist", () =>
    withIam(
      (fake, iam) =>
        Effect.gen(function* () {
          const resource = saResource(fake.seedServiceAccount(PROJECT, "tenant-acme").email)
          const bad = yield* failure(() =>
            iam.projects.serviceAccounts.setIamPolicy({ resource, requestBody: { policy: { bindings: [wiBinding] } } })
          )
          assert.strictEqual(bad.status, 400)
          assert.strictEqual(bad.response?.data?.error?.message, `Identity Pool does not exist (${PROJECT}.svc.id.goog).`)
        }),
      { workloadIdentityPools: ["other-project.svc.id.goog"] }
    )
  )
})

describe("IamFake: faults and the request log", () => {
  it.live("failNext surfaces as the client's status; gaxios retries a failed GET", () =>
    withIam((fake, iam) =>
      Effect.gen(function* () {
        const email = fake.seedServiceAccount(PROJECT, "tenant-acme").email
        fake.failNext(1, { status: 500, match: (r) => r.operation === "iam.projects.serviceAccounts.setIamPolicy" })
        const failed = yield* failure(() =>
          iam.projects.serviceAccounts.setIamPolicy({ resource: saResource(email), requestBody: { policy: { bindings: [wiBinding] } } })
        )
        assert.strictEqual(failed.status, 500)
        assert.strictEqual(failed.response?.data?.error?.status, "INTERNAL")
        assert.deepStrictEqual(fake.policy(email)?.bindings, [])

        fake.failNext(1, { status: 503 })
        yield* call(() => iam.projects.serviceAccounts.get({ name: saResource(email) }))
        assert.deepStrictEqual(
          fake
            .requests()
            .slice(-2)
            .map((r) => r.operation),
          ["iam.projects.serviceAccounts.get", "iam.projects.serviceAccounts.get"]
        )

        fake.failNext(1, { status: "disconnect", match: (r) => r.write })
        const cut = yield* failure(() =>
          iam.projects.serviceAccounts.create({ name: `projects/${PROJECT}`, requestBody: { accountId: "tenant-beta" } })
        )
        assert.isUndefined(cut.status)
        assert.isUndefined(fake.serviceAccount(`tenant-beta@${PROJECT}.iam.gserviceaccount.com`))
      })
    )
  )

  it.live("records methods, paths, operations and the bearer token", () =>
    withIam((fake, iam) =>
      Effect.gen(function* () {
        const { data: sa } = yield* call(() =>
          iam.projects.serviceAccounts.create({ name: `projects/${PROJECT}`, requestBody: { accountId: "tenant-acme" } })
        )
        const resource = saResource(sa.email ?? "")
        yield* call(() => iam.projects.serviceAccounts.getIamPolicy({ resource }))
        assert.deepStrictEqual(
          fake.requests().map((r) => [r.method, r.path, r.operation, r.write, r.authorized]),
          [
            ["POST", `/v1/projects/${PROJECT}/serviceAccounts`, "iam.projects.serviceAccounts.create", true, true],
            ["POST", `/v1/${resource}:getIamPolicy`, "iam.projects.serviceAccounts.getIamPolicy", false, true]
          ]
        )
        fake.resetRequests()
        assert.deepStrictEqual(fake.requests(), [])
      })
    )
  )
})
