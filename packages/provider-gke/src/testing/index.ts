/** Loopback fakes of the Google Cloud APIs the GKE provider calls, for tests with the real client libraries. */
export type { GcsBucket, Json } from "./GcsBuckets.ts"
export { GcsFake, type GcsFakeOptions } from "./GcsFake.ts"
export type { GcsObject } from "./GcsObjects.ts"
export type { BucketPolicy } from "./GcsState.ts"
export type { FailureOptions, GcpRequest } from "./http.ts"
export { IamFake, type IamFakeOptions } from "./IamFake.ts"
export { EMPTY_POLICY_ETAG, type ServiceAccount } from "./IamState.ts"
export type { IamPolicy, PolicyBinding, PolicyCondition, PolicyDraft } from "./policy.ts"
