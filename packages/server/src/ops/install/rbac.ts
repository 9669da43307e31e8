import { type Kind, Kinds } from "@clawfleet/core/kubernetes"
import { MANAGED_KINDS } from "@clawfleet/provider-k3s"

/** The kinds the K3s provider renders, watches and prunes, as it declares them. */
export const K3S_PROVIDER_KINDS: ReadonlyArray<Kind> = MANAGED_KINDS

/**
 * What the provider does with each kind, and the verb the API server checks for it:
 * - `list`, `watch`: its cache lists and watches every kind cluster-wide (objects labelled as ours);
 * - `get`: it reads an object back when an apply conflicts with another field manager;
 * - `patch`: every write is a server-side apply;
 * - `create`: an apply that creates the object is authorized as a create too;
 * - `delete`: pruning what is no longer desired, and destroying a tenant.
 * Not `update`, `deletecollection` or anything on Secrets, Pods or RBAC: it never does those.
 */
export const K3S_PROVIDER_VERBS: ReadonlyArray<string> = ["get", "list", "watch", "create", "patch", "delete"]

export interface PolicyRule {
  readonly apiGroups: ReadonlyArray<string>
  readonly resources: ReadonlyArray<string>
  readonly verbs: ReadonlyArray<string>
}

/** One rule per API group, resources sorted: the ClusterRole the K3s provider needs, and no more. */
export const k3sProviderRules = (): ReadonlyArray<PolicyRule> => {
  const byGroup = new Map<string, Array<string>>()
  for (const kind of K3S_PROVIDER_KINDS) {
    const { apiVersion, plural } = Kinds[kind]
    const group = apiVersion.includes("/") ? apiVersion.split("/")[0]! : ""
    byGroup.set(group, [...(byGroup.get(group) ?? []), plural])
  }
  return [...byGroup.entries()].map(([group, resources]) => ({
    apiGroups: [group],
    resources: [...resources].sort(),
    verbs: [...K3S_PROVIDER_VERBS]
  }))
}
