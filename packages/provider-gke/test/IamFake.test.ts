import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { EMPTY_POLICY_ETAG } from "../src/testing/index.ts"
import { call, failure, PROJECT, runner, withIam } from "./support-gcp.ts"

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
