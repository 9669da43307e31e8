/**
 * The Kubernetes kit: object builders that meet Pod Security "restricted", a server-side-apply
 * client with rate limiting and retries, a watch-fed cache of the objects clawfleet owns, and
 * the comparison that tells drift from server defaults. Needs `@kubernetes/client-node` (an
 * optional peer dependency); the builders alone do not load it.
 */

export { intentDiff } from "./kubernetes/intentDiff.ts"
export { KubeCache } from "./kubernetes/KubeCache.ts"
export { KubeClient, type KubeClientOptions, makeKubeClient, type ObjectRef } from "./kubernetes/KubeClient.ts"
export {
  isKind,
  type Kind,
  Kinds,
  type KubeObject,
  Labels,
  listPath,
  MANAGED_BY,
  type ObjectMeta,
  objectKey,
  ownedLabels,
  ownedSelector
} from "./kubernetes/KubeObject.ts"
export { type NetworkPolicyOptions, networkPolicies, type PeerPods } from "./kubernetes/NetworkPolicies.ts"
export { type PodSecurityRule, restrictedRules, restrictedViolations, type Violation } from "./kubernetes/PodSecurity.ts"
export { addBytes, addCpu, parseQuantity } from "./kubernetes/Quantity.ts"
export { makeRateLimiter } from "./kubernetes/RateLimiter.ts"
export {
  configMap,
  limitRange,
  namespace,
  persistentVolumeClaim,
  resourceQuota,
  serviceAccount,
  type TenantResources
} from "./kubernetes/TenantNamespace.ts"
export {
  AGENT_RESOURCES,
  deployment,
  ingress,
  restrictedContainerSecurity,
  restrictedPodSecurity,
  service,
  type WorkloadOptions,
  workloadLabels
} from "./kubernetes/TenantWorkload.ts"
