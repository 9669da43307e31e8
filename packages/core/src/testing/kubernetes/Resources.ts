/**
 * The resource types the fake serves, and how the apiserver treats each: scope, name rules,
 * whether writes to the main resource keep `status`, and whether `metadata.generation` is tracked.
 */

/** A resource type to register besides the built-in ones, e.g. a custom resource. */
export interface FakeKubeResource {
  /** Empty for the core group. */
  readonly group: string
  readonly version: string
  readonly kind: string
  /** Lower-case plural, as in the URL. */
  readonly plural: string
  readonly singular?: string
  readonly namespaced?: boolean
  readonly shortNames?: ReadonlyArray<string>
  /** Whether spec changes bump `metadata.generation` (true for custom resources in a real cluster). */
  readonly generation?: boolean
  /** Whether writes to the main resource ignore `status` (true when a status subresource exists). */
  readonly statusSubresource?: boolean
}

export type NameRule = "subdomain" | "label" | "dns1035" | "pathSegment"

export interface ResourceType {
  readonly group: string
  readonly version: string
  readonly apiVersion: string
  readonly kind: string
  readonly listKind: string
  readonly plural: string
  readonly singular: string
  readonly namespaced: boolean
  readonly shortNames: ReadonlyArray<string>
  readonly generation: boolean
  readonly statusSubresource: boolean
  readonly nameRule: NameRule
  /** Module of kubernetes-models that holds the kind's model, when the kind is built in. */
  readonly model?: string
  /** Whether a DELETE answers with the object rather than a Status (pods, namespaces). */
  readonly returnsDeletedObject: boolean
}

export const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] as const

interface Builtin {
  readonly kind: string
  readonly plural: string
  readonly namespaced?: boolean
  readonly shortNames?: ReadonlyArray<string>
  readonly generation?: boolean
  readonly status?: boolean
  readonly nameRule?: NameRule
  readonly returnsDeletedObject?: boolean
}

const BUILTINS: ReadonlyArray<{ readonly group: string; readonly version: string; readonly kinds: ReadonlyArray<Builtin> }> = [
  {
    group: "",
    version: "v1",
    kinds: [
      {
        kind: "Namespace",
        plural: "namespaces",
        namespaced: false,
        shortNames: ["ns"],
        status: true,
        nameRule: "label",
        returnsDeletedObject: true
      },
      { kind: "ConfigMap", plural: "configmaps", shortNames: ["cm"] },
      { kind: "Secret", plural: "secrets" },
      { kind: "ServiceAccount", plural: "serviceaccounts", shortNames: ["sa"] },
      { kind: "Service", plural: "services", shortNames: ["svc"], status: true, nameRule: "dns1035" },
      { kind: "PersistentVolumeClaim", plural: "persistentvolumeclaims", shortNames: ["pvc"], status: true },
      { kind: "ResourceQuota", plural: "resourcequotas", shortNames: ["quota"], status: true },
      { kind: "LimitRange", plural: "limitranges", shortNames: ["limits"] },
      { kind: "Pod", plural: "pods", shortNames: ["po"], status: true, returnsDeletedObject: true },
      { kind: "Event", plural: "events", shortNames: ["ev"] }
    ]
  },
  {
    group: "apps",
    version: "v1",
    kinds: [
      { kind: "Deployment", plural: "deployments", shortNames: ["deploy"], generation: true, status: true },
      { kind: "StatefulSet", plural: "statefulsets", shortNames: ["sts"], generation: true, status: true }
    ]
  },
  {
    group: "networking.k8s.io",
    version: "v1",
    kinds: [
      { kind: "NetworkPolicy", plural: "networkpolicies", shortNames: ["netpol"], generation: true },
      { kind: "Ingress", plural: "ingresses", shortNames: ["ing"], generation: true, status: true }
    ]
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kinds: [
      { kind: "Role", plural: "roles", nameRule: "pathSegment" },
      { kind: "RoleBinding", plural: "rolebindings", nameRule: "pathSegment" }
    ]
  },
  {
    group: "storage.k8s.io",
    version: "v1",
    kinds: [{ kind: "StorageClass", plural: "storageclasses", namespaced: false, shortNames: ["sc"] }]
  }
]

const make = (group: string, version: string, b: Builtin, model: string | undefined): ResourceType => {
  const apiVersion = group === "" ? version : `${group}/${version}`
  return {
    group,
    version,
    apiVersion,
    kind: b.kind,
    listKind: `${b.kind}List`,
    plural: b.plural,
    singular: b.kind.toLowerCase(),
    namespaced: b.namespaced ?? true,
    shortNames: b.shortNames ?? [],
    generation: b.generation ?? false,
    statusSubresource: b.status ?? false,
    nameRule: b.nameRule ?? "subdomain",
    returnsDeletedObject: b.returnsDeletedObject ?? false,
    ...(model === undefined ? {} : { model })
  }
}

/** The registry: built-ins plus the extra types of the options. */
export class Resources {
  readonly all: ReadonlyArray<ResourceType>

  constructor(extra: ReadonlyArray<FakeKubeResource> = []) {
    const builtins = BUILTINS.flatMap((gv) =>
      gv.kinds.map((b) => make(gv.group, gv.version, b, `kubernetes-models/${gv.group === "" ? gv.version : `${gv.group}/${gv.version}`}`))
    )
    const custom = extra.map((r) => ({
      ...make(
        r.group,
        r.version,
        {
          kind: r.kind,
          plural: r.plural,
          namespaced: r.namespaced ?? true,
          shortNames: r.shortNames ?? [],
          generation: r.generation ?? true,
          status: r.statusSubresource ?? false
        },
        undefined
      ),
      singular: r.singular ?? r.kind.toLowerCase()
    }))
    this.all = [...builtins, ...custom]
  }

  byPlural(group: string, version: string, plural: string): ResourceType | undefined {
    return this.all.find((r) => r.group === group && r.version === version && r.plural === plural)
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.all.find((r) => r.apiVersion === apiVersion && r.kind === kind)
  }

  /** Group versions in registration order, core first. */
  groupVersions(): ReadonlyArray<{ readonly group: string; readonly version: string }> {
    const seen = new Map<string, { group: string; version: string }>()
    for (const r of this.all) seen.set(r.apiVersion, { group: r.group, version: r.version })
    return [...seen.values()]
  }

  inGroupVersion(group: string, version: string): ReadonlyArray<ResourceType> {
    return this.all.filter((r) => r.group === group && r.version === version)
  }

  namespace(): ResourceType {
    return this.byKind("v1", "Namespace")!
  }
}
