import { ProviderError, type ProviderErrorReason } from "@clawfleet/core"
import type { Storage } from "@google-cloud/storage"
import type { iam_v1 } from "@googleapis/iam"
import { Effect } from "effect"

const NAME = "gke"

const codeOf = (e: unknown): number | undefined => {
  const c =
    (e as { code?: unknown; status?: unknown; response?: { status?: unknown } })?.code ??
    (e as { response?: { status?: unknown } })?.response?.status
  return typeof c === "number" ? c : typeof c === "string" && /^[0-9]+$/.test(c) ? Number(c) : undefined
}
const reasonOf = (code: number | undefined): ProviderErrorReason =>
  code === undefined
    ? "Unavailable"
    : code === 404
      ? "NotFound"
      : code === 409 || code === 412
        ? "Conflict"
        : code === 403 || code === 401
          ? "Forbidden"
          : code === 400
            ? "Invalid"
            : code === 429 || code >= 500
              ? "Unavailable"
              : "Unknown"

/** One call to Google Cloud, its failure as the provider's error naming what it was about. */
export const gcp = <A>(what: string, resource: string, f: () => Promise<A>): Effect.Effect<A, ProviderError> =>
  Effect.tryPromise({
    try: f,
    catch: (cause) =>
      new ProviderError({
        reason: reasonOf(codeOf(cause)),
        provider: NAME,
        resource,
        detail: `${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause
      })
  })

const absentAsUndefined = <A>(self: Effect.Effect<A, ProviderError>) =>
  Effect.catchIf(
    self,
    (e) => e.reason === "NotFound",
    () => Effect.succeed(undefined)
  )

interface Binding {
  role: string
  members: Array<string>
  condition?: unknown
}
interface Policy {
  bindings?: Array<Binding> | null
  etag?: string | null
  version?: number | null
}

/**
 * Read-modify-write of an IAM policy under its etag: a concurrent edit by somebody else makes the
 * write fail, and the edit is redone on the fresh policy, so no other binding is ever dropped.
 * Writes nothing when the policy already says what we want.
 */
const editPolicy = (
  resource: string,
  read: () => Promise<Policy>,
  write: (policy: Policy) => Promise<unknown>,
  change: (bindings: Array<Binding>) => boolean
): Effect.Effect<void, ProviderError> => {
  const attempt = (n: number): Effect.Effect<void, ProviderError> =>
    Effect.gen(function* () {
      const policy = yield* gcp("get IAM policy", resource, read)
      const bindings = (policy.bindings ?? []).map((b) => ({ ...b, members: [...b.members] }))
      if (!change(bindings)) return
      yield* gcp("set IAM policy", resource, () => write({ ...policy, bindings: bindings.filter((b) => b.members.length > 0) }))
    }).pipe(
      Effect.catchIf(
        (e) => e.reason === "Conflict" && n < 5,
        () => Effect.andThen(Effect.sleep(50 * 2 ** n), attempt(n + 1))
      )
    )
  return attempt(0)
}

const addMember = (role: string, member: string) => (bindings: Array<Binding>) => {
  const b = bindings.find((x) => x.role === role && x.condition === undefined)
  if (b?.members.includes(member)) return false
  if (b === undefined) bindings.push({ role, members: [member] })
  else b.members.push(member)
  return true
}
const removeMember = (role: string, member: string) => (bindings: Array<Binding>) => {
  const b = bindings.find((x) => x.role === role && x.members.includes(member))
  if (b === undefined) return false
  b.members = b.members.filter((m) => m !== member)
  return true
}
const hasMember = (policy: Policy | undefined, role: string, member: string) =>
  (policy?.bindings ?? []).some((b) => b.role === role && b.members.includes(member))

export const makeGcp = (storage: Storage, iam: iam_v1.Iam | undefined, projectId: string) => {
  const bucketPolicy = (bucket: string): Promise<Policy> =>
    storage
      .bucket(bucket)
      .iam.getPolicy({ requestedPolicyVersion: 3 })
      .then(([p]) => p as Policy)
  const needIam = Effect.suspend(() =>
    iam === undefined
      ? Effect.fail(
          new ProviderError({
            reason: "Invalid",
            provider: NAME,
            detail: "google-service-account mode needs an IAM client (layer option `iam`)"
          })
        )
      : Effect.succeed(iam)
  )
  const saResource = (email: string) => `projects/${projectId}/serviceAccounts/${email}`
  return {
    getBucket: (name: string) =>
      absentAsUndefined(
        gcp("get bucket", name, () =>
          storage
            .bucket(name)
            .getMetadata()
            .then(([m]) => m as Record<string, unknown>)
        )
      ),
    putBucket: (spec: { readonly name: string } & Record<string, unknown>, exists: boolean) => {
      const { name, location, storageClass, ...mutable } = spec
      const write: Effect.Effect<unknown, ProviderError> = exists
        ? gcp("update bucket", name, () =>
            storage
              .bucket(name)
              .setMetadata(mutable)
              .then(() => undefined)
          )
        : gcp("create bucket", name, () =>
            storage.createBucket(name, { location, storageClass, ...mutable } as never).then(() => undefined)
          )
      return write
    },
    /** Deletes the objects, then the bucket. Gone already is success. */
    deleteBucket: (name: string) =>
      Effect.gen(function* () {
        yield* absentAsUndefined(
          gcp("delete objects", name, () =>
            storage
              .bucket(name)
              .deleteFiles({ force: true })
              .then(() => undefined)
          )
        )
        yield* absentAsUndefined(
          gcp("delete bucket", name, () =>
            storage
              .bucket(name)
              .delete()
              .then(() => undefined)
          )
        )
      }),
    bucketBinding: (bucket: string, role: string, member: string) =>
      Effect.map(absentAsUndefined(gcp("get IAM policy", bucket, () => bucketPolicy(bucket))), (p) => hasMember(p, role, member)),
    bindOnBucket: (bucket: string, role: string, member: string) =>
      editPolicy(
        bucket,
        () => bucketPolicy(bucket),
        (p) =>
          storage
            .bucket(bucket)
            .iam.setPolicy(p as never)
            .then(() => undefined),
        addMember(role, member)
      ),
    unbindOnBucket: (bucket: string, role: string, member: string) =>
      absentAsUndefined(
        editPolicy(
          bucket,
          () => bucketPolicy(bucket),
          (p) =>
            storage
              .bucket(bucket)
              .iam.setPolicy(p as never)
              .then(() => undefined),
          removeMember(role, member)
        )
      ),
    getServiceAccount: (email: string) =>
      Effect.flatMap(needIam, (c) =>
        absentAsUndefined(
          gcp("get service account", email, () => c.projects.serviceAccounts.get({ name: saResource(email) }).then((r) => r.data))
        )
      ),
    createServiceAccount: (accountId: string, displayName: string) =>
      Effect.flatMap(needIam, (c) =>
        gcp("create service account", accountId, async () => {
          await c.projects.serviceAccounts.create({
            name: `projects/${projectId}`,
            requestBody: { accountId, serviceAccount: { displayName } }
          })
        })
      ),
    deleteServiceAccount: (email: string) =>
      Effect.flatMap(needIam, (c) =>
        absentAsUndefined(
          gcp("delete service account", email, async () => {
            await c.projects.serviceAccounts.delete({ name: saResource(email) })
          })
        )
      ),
    serviceAccountBinding: (email: string, role: string, member: string) =>
      Effect.flatMap(needIam, (c) =>
        Effect.map(
          absentAsUndefined(
            gcp("get IAM policy", email, () =>
              c.projects.serviceAccounts.getIamPolicy({ resource: saResource(email) }).then((r) => r.data as Policy)
            )
          ),
          (p) => hasMember(p, role, member)
        )
      ),
    bindOnServiceAccount: (email: string, role: string, member: string) =>
      Effect.flatMap(needIam, (c) =>
        editPolicy(
          email,
          () => c.projects.serviceAccounts.getIamPolicy({ resource: saResource(email) }).then((r) => r.data as Policy),
          async (policy) => {
            await c.projects.serviceAccounts.setIamPolicy({ resource: saResource(email), requestBody: { policy: policy as never } })
          },
          addMember(role, member)
        )
      )
  }
}
export type Gcp = ReturnType<typeof makeGcp>
