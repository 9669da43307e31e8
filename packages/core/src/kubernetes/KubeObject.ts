/**
 * Kubernetes objects as clawfleet builds and reads them: plain JSON with the standard header. Kept
 * structural (not `@kubernetes/client-node` classes) so builders stay pure data and a portal that
 * never talks to a cluster does not load the client.
 */
export interface ObjectMeta {
  readonly name: string
  readonly namespace?: string | undefined
  readonly labels?: Readonly<Record<string, string>> | undefined
  readonly annotations?: Readonly<Record<string, string>> | undefined
  readonly resourceVersion?: string | undefined
  readonly generation?: number | undefined
  readonly deletionTimestamp?: string | undefined
  readonly finalizers?: ReadonlyArray<string> | undefined
}

export interface KubeObject {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: ObjectMeta
  readonly [field: string]: unknown
}

/** The kinds clawfleet manages, with what the API needs to address them. */
export const Kinds = {
  Namespace: { apiVersion: "v1", plural: "namespaces", namespaced: false },
  ResourceQuota: { apiVersion: "v1", plural: "resourcequotas", namespaced: true },
  LimitRange: { apiVersion: "v1", plural: "limitranges", namespaced: true },
  ServiceAccount: { apiVersion: "v1", plural: "serviceaccounts", namespaced: true },
  ConfigMap: { apiVersion: "v1", plural: "configmaps", namespaced: true },
  Secret: { apiVersion: "v1", plural: "secrets", namespaced: true },
  PersistentVolumeClaim: { apiVersion: "v1", plural: "persistentvolumeclaims", namespaced: true },
  Service: { apiVersion: "v1", plural: "services", namespaced: true },
  Deployment: { apiVersion: "apps/v1", plural: "deployments", namespaced: true },
  NetworkPolicy: { apiVersion: "networking.k8s.io/v1", plural: "networkpolicies", namespaced: true },
  Ingress: { apiVersion: "networking.k8s.io/v1", plural: "ingresses", namespaced: true },
  HTTPRoute: { apiVersion: "gateway.networking.k8s.io/v1", plural: "httproutes", namespaced: true },
  CiliumNetworkPolicy: { apiVersion: "cilium.io/v2", plural: "ciliumnetworkpolicies", namespaced: true }
} as const
export type Kind = keyof typeof Kinds

/** The path that lists a kind across all namespaces (what a cluster-wide watch reads). */
export const listPath = (kind: Kind) => {
  const { apiVersion, plural } = Kinds[kind]
  return apiVersion.includes("/") ? `/apis/${apiVersion}/${plural}` : `/api/${apiVersion}/${plural}`
}

/** Labels that mark an object as clawfleet's and say which tenant it belongs to. */
export const Labels = {
  managedBy: "app.kubernetes.io/managed-by",
  partOf: "app.kubernetes.io/part-of",
  tenant: "clawfleet.dev/tenant",
  component: "app.kubernetes.io/component"
} as const
export const MANAGED_BY = "clawfleet"

export const ownedLabels = (tenant: string, component: string): Record<string, string> => ({
  [Labels.managedBy]: MANAGED_BY,
  [Labels.partOf]: "clawfleet",
  [Labels.tenant]: tenant,
  [Labels.component]: component
})

/** Selects every object clawfleet manages, or one tenant's. */
export const ownedSelector = (tenant?: string) =>
  tenant === undefined ? `${Labels.managedBy}=${MANAGED_BY}` : `${Labels.managedBy}=${MANAGED_BY},${Labels.tenant}=${tenant}`

/** `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects: unique within a cluster. */
export const objectKey = (o: {
  readonly kind: string
  readonly metadata: { readonly name: string; readonly namespace?: string | undefined }
}) => (o.metadata.namespace === undefined ? `${o.kind}/${o.metadata.name}` : `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)

export const isKind = (kind: string): kind is Kind => Object.hasOwn(Kinds, kind)
