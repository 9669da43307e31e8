import { type KubeObject, ownedLabels } from "./KubeObject.ts"

export interface TenantResources {
  readonly cpu: string
  readonly memory: string
  readonly storage: string
}

/**
 * The tenant's namespace. Pod Security admission enforces `restricted` on it, so even an object
 * that did not come from these builders cannot run a privileged pod there.
 */
export const namespace = (tenant: string, name: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: {
    name,
    labels: {
      ...ownedLabels(tenant, "namespace"),
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/enforce-version": "latest",
      "pod-security.kubernetes.io/audit": "restricted",
      "pod-security.kubernetes.io/warn": "restricted"
    }
  }
})

/**
 * Caps what the namespace can hold: the pod's requests and limits (pass the sum of its
 * containers), one volume, and room for one pod plus one being replaced.
 */
export const resourceQuota = (tenant: string, namespace: string, r: TenantResources): KubeObject => ({
  apiVersion: "v1",
  kind: "ResourceQuota",
  metadata: { name: "tenant-quota", namespace, labels: ownedLabels(tenant, "quota") },
  spec: {
    hard: {
      "requests.cpu": r.cpu,
      "limits.cpu": r.cpu,
      "requests.memory": r.memory,
      "limits.memory": r.memory,
      "requests.storage": r.storage,
      persistentvolumeclaims: "1",
      pods: "2",
      services: "1",
      "services.loadbalancers": "0",
      "services.nodeports": "0"
    }
  }
})

/**
 * Bounds any one container by the tenant's size. A container that names no limit gets `max` as
 * its limit (Kubernetes does that when no `default` is set) and a small request, so the quota
 * never rejects it for naming nothing.
 */
export const limitRange = (tenant: string, namespace: string, max: { readonly cpu: string; readonly memory: string }): KubeObject => ({
  apiVersion: "v1",
  kind: "LimitRange",
  metadata: { name: "tenant-limits", namespace, labels: ownedLabels(tenant, "limits") },
  spec: {
    limits: [{ type: "Container", max: { ...max }, defaultRequest: { cpu: "50m", memory: "64Mi" } }]
  }
})

/** The tenant's identity. No API token is mounted: the assistant has no business with the cluster API. */
export const serviceAccount = (tenant: string, namespace: string, name: string, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: "v1",
  kind: "ServiceAccount",
  metadata: {
    name,
    namespace,
    labels: ownedLabels(tenant, "identity"),
    ...(annotations !== undefined ? { annotations } : {})
  },
  automountServiceAccountToken: false
})

export const persistentVolumeClaim = (
  tenant: string,
  namespace: string,
  options: { readonly name: string; readonly size: string; readonly storageClassName?: string | undefined }
): KubeObject => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name: options.name, namespace, labels: ownedLabels(tenant, "storage") },
  spec: {
    accessModes: ["ReadWriteOnce"],
    resources: { requests: { storage: options.size } },
    ...(options.storageClassName !== undefined ? { storageClassName: options.storageClassName } : {})
  }
})

export const configMap = (
  tenant: string,
  namespace: string,
  name: string,
  data: Readonly<Record<string, string>>,
  component = "config"
): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace, labels: ownedLabels(tenant, component) },
  data
})
