import { Storage } from "@google-cloud/storage"
import { iam_v1 } from "@googleapis/iam"
import { Effect } from "effect"
import { OAuth2Client } from "google-auth-library"
import { GcsFake, type GcsFakeOptions, IamFake, type IamFakeOptions } from "../src/testing/index.ts"

/** Shared setup for the GCS and IAM fake tests: each fake through the real client a provider uses. */

export const PROJECT = "proj-1"
export const KMS_KEY = `projects/${PROJECT}/locations/europe-west1/keyRings/tenants/cryptoKeys/acme`

export const call = <A>(f: () => Promise<A>) => Effect.promise(f)

/** What a rejected call of either client carries: Storage's `ApiError` has `code`, gaxios' error has `status` and the body. */
export interface ClientError {
  readonly code?: number | string
  readonly status?: number
  readonly message: string
  readonly response?: { readonly data?: { readonly error?: { readonly code: number; readonly message: string; readonly status: string } } }
}

/** The error `f` rejects with; fails the test when it resolves. */
export const failure = (f: () => Promise<unknown>) =>
  Effect.tryPromise({ try: f, catch: (e) => e as ClientError }).pipe(
    Effect.flatMap((value) => Effect.die(new Error(`expected a failure, got ${JSON.stringify(value)}`))),
    Effect.flip
  )

export const withGcs = <A, E>(body: (fake: GcsFake["Service"], storage: Storage) => Effect.Effect<A, E>, options?: GcsFakeOptions) =>
  Effect.gen(function* () {
    const fake = yield* GcsFake
    return yield* body(fake, new Storage({ apiEndpoint: fake.url, projectId: PROJECT }))
  }).pipe(Effect.provide(GcsFake.layer(options)))

export const withIam = <A, E>(body: (fake: IamFake["Service"], iam: iam_v1.Iam) => Effect.Effect<A, E>, options?: IamFakeOptions) =>
  Effect.gen(function* () {
    const fake = yield* IamFake
    const auth = new OAuth2Client()
    auth.setCredentials({ access_token: "fake-token" })
    return yield* body(fake, new iam_v1.Iam({ auth: auth as never, rootUrl: `${fake.url}/` }))
  }).pipe(Effect.provide(IamFake.layer(options)))

export const tenantBucket = {
  location: "europe-west1",
  storageClass: "STANDARD",
  labels: { "clawfleet-tenant": "acme" },
  iamConfiguration: { uniformBucketLevelAccess: { enabled: true }, publicAccessPrevention: "enforced" },
  softDeletePolicy: { retentionDurationSeconds: 0 },
  encryption: { defaultKmsKeyName: KMS_KEY }
}

export const runner = { role: "roles/storage.objectAdmin", members: [`serviceAccount:acme@${PROJECT}.iam.gserviceaccount.com`] }
