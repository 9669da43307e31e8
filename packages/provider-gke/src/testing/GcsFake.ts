import { Context, Effect, Layer } from "effect"
import { type GcsBucket, type Json, renderBucket } from "./GcsBuckets.ts"
import { type GcsObject, renderObject } from "./GcsObjects.ts"
import { gcsApi } from "./GcsRoutes.ts"
import { type BucketPolicy, GcsState } from "./GcsState.ts"
import { type FailureOptions, type GcpRequest, Harness, serve } from "./http.ts"
import type { PolicyDraft } from "./policy.ts"

export interface GcsFakeOptions {
  /** The project `seedBucket` creates buckets in (default "test-project"). */
  readonly projectId?: string
  /** The largest page a list answers with, whatever `maxResults` asks (default 1000, as GCS). */
  readonly maxPageSize?: number
  /** Delay before every request is served, in milliseconds (default 0). */
  readonly latencyMs?: number
}

/**
 * A fake of the Cloud Storage JSON API v1 on loopback HTTP, for `new Storage({ apiEndpoint: fake.url, projectId })`
 * of `@google-cloud/storage`: buckets, bucket IAM policies with etags, and objects (media, multipart and
 * resumable uploads). Errors come in Google's JSON error format, so the client's `ApiError` has the
 * real `code` and `message`. It takes any credentials, or none. Everything it hands out is a copy.
 */
export class GcsFake extends Context.Service<
  GcsFake,
  {
    /** `http://127.0.0.1:<port>`, the `apiEndpoint` for the client. */
    readonly url: string
    readonly buckets: () => ReadonlyArray<GcsBucket>
    readonly bucket: (name: string) => GcsBucket | undefined
    /** The bucket's IAM policy as `getIamPolicy` with version 3 answers, or undefined when there is no such bucket. */
    readonly policy: (bucket: string) => BucketPolicy | undefined
    /** The bucket's objects in name order (none when there is no such bucket). */
    readonly objects: (bucket: string) => ReadonlyArray<GcsObject>
    readonly objectData: (bucket: string, name: string) => Buffer | undefined
    /** Every request received so far, in arrival order. */
    readonly requests: () => ReadonlyArray<GcpRequest>
    readonly resetRequests: () => void
    /** Creates a bucket without HTTP, with the defaults an insert gets; `fields` as in an insert's body. */
    readonly seedBucket: (name: string, fields?: Json, options?: { readonly project?: string }) => GcsBucket
    /** Stores an object without HTTP. */
    readonly seedObject: (bucket: string, name: string, data: string | Uint8Array, contentType?: string) => GcsObject
    /**
     * Someone else's change of the bucket's metadata: `change` edits a copy of the settable fields
     * (location, storageClass, labels, iamConfiguration, softDeletePolicy, encryption, ...) in place or
     * returns a replacement. The metageneration grows, so the etags of the bucket and its policy change.
     */
    // biome-ignore lint/suspicious/noConfusingVoidType: edits mostly change the copy in place and return nothing.
    readonly editBucket: (name: string, change: (fields: Json) => Json | void) => GcsBucket
    /** Someone else's change of the bucket's IAM policy: the policy gets a new etag, so a client's read-modify-write with the old one fails with 412. */
    // biome-ignore lint/suspicious/noConfusingVoidType: edits mostly change the draft in place and return nothing.
    readonly editPolicy: (bucket: string, change: (draft: PolicyDraft) => PolicyDraft | void) => BucketPolicy
    /** The next `count` requests that `options.match` accepts (default: any) fail with `options.status`. */
    readonly failNext: (count: number, options: FailureOptions) => void
    readonly setLatency: (ms: number) => void
  }
>()("@clawfleet/provider-gke/testing/GcsFake") {
  /** Starts the server on 127.0.0.1 and a free port; closing the scope closes it and every connection. */
  static layer(options: GcsFakeOptions = {}): Layer.Layer<GcsFake> {
    return Layer.effect(GcsFake, make(options))
  }
}

const make = (options: GcsFakeOptions) =>
  Effect.gen(function* () {
    const state = new GcsState(options.maxPageSize ?? 1000)
    const harness = new Harness(options.latencyMs ?? 0)
    const url = yield* serve(gcsApi(state), harness)
    const none = new URLSearchParams()

    return GcsFake.of({
      url,
      buckets: () => state.all().map((b) => renderBucket(b, url)),
      bucket: (name) => {
        const b = state.find(name)
        return b === undefined ? undefined : renderBucket(b, url)
      },
      policy: (bucket) => (state.find(bucket) === undefined ? undefined : state.policy(bucket, "3")),
      objects: (bucket) =>
        [...(state.find(bucket)?.objects.values() ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1)).map((o) => renderObject(o, url)),
      objectData: (bucket, name) => {
        const data = state.find(bucket)?.objects.get(name)?.data
        return data === undefined ? undefined : Buffer.from(data)
      },
      requests: () => [...harness.log],
      resetRequests: () => {
        harness.log.length = 0
      },
      seedBucket: (name, fields = {}, seedOptions = {}) =>
        renderBucket(state.insertBucket(seedOptions.project ?? options.projectId ?? "test-project", { ...fields, name }), url),
      seedObject: (bucket, name, data, contentType) =>
        renderObject(state.putObject(bucket, name, Buffer.from(data), contentType === undefined ? {} : { contentType }, none), url),
      editBucket: (name, change) => renderBucket(state.editBucket(name, change), url),
      editPolicy: (bucket, change) => state.editPolicy(bucket, change),
      failNext: (count, failure) => harness.failNext(count, failure),
      setLatency: (ms) => {
        harness.latencyMs = ms
      }
    })
  })
