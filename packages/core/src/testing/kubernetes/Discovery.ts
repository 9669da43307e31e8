import { type Resources, type ResourceType, VERBS } from "./Resources.ts"

/** Documents of the discovery endpoints, unaggregated (clients fall back to them from the aggregated form). */

export const version = () => ({
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-fake",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2025-01-01T00:00:00Z",
  goVersion: "go1.23.0",
  compiler: "gc",
  platform: "linux/amd64"
})

export const apiVersions = (serverAddress: string) => ({
  kind: "APIVersions",
  versions: ["v1"],
  serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }]
})

const apiResource = (r: ResourceType) => ({
  name: r.plural,
  singularName: r.singular,
  namespaced: r.namespaced,
  kind: r.kind,
  verbs: [...VERBS],
  ...(r.shortNames.length > 0 ? { shortNames: [...r.shortNames] } : {})
})

export const resourceList = (resources: Resources, group: string, version: string) => {
  const inGv = resources.inGroupVersion(group, version)
  if (inGv.length === 0) return undefined
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group === "" ? version : `${group}/${version}`,
    resources: inGv.map(apiResource)
  }
}

const apiGroup = (resources: Resources, name: string) => {
  const versions = resources
    .groupVersions()
    .filter((gv) => gv.group === name)
    .map((gv) => ({ groupVersion: `${name}/${gv.version}`, version: gv.version }))
  const preferred = versions[0]
  return preferred === undefined ? undefined : { kind: "APIGroup", apiVersion: "v1", name, versions, preferredVersion: preferred }
}

export const groupList = (resources: Resources) => {
  const names = [...new Set(resources.groupVersions().map((gv) => gv.group))].filter((g) => g !== "")
  return { kind: "APIGroupList", apiVersion: "v1", groups: names.flatMap((n) => apiGroup(resources, n) ?? []) }
}

export const group = (resources: Resources, name: string) => apiGroup(resources, name)

/**
 * Just enough OpenAPI v3 for kubectl: its field-validation probe looks for a PATCH operation of
 * the kind that takes a `fieldValidation` query parameter, and when it finds one it leaves
 * validation to the server instead of downloading full schemas.
 */
export const openApiRoot = (resources: Resources) => ({
  paths: Object.fromEntries(
    resources.groupVersions().map((gv) => {
      const key = gv.group === "" ? `api/${gv.version}` : `apis/${gv.group}/${gv.version}`
      return [key, { serverRelativeURL: `/openapi/v3/${key}` }]
    })
  )
})

export const openApiGroupVersion = (resources: Resources, group: string, version: string) => {
  const inGv = resources.inGroupVersion(group, version)
  if (inGv.length === 0) return undefined
  const prefix = group === "" ? `/api/${version}` : `/apis/${group}/${version}`
  const paths: Record<string, unknown> = {}
  for (const r of inGv) {
    const item = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.plural}/{name}` : `${prefix}/${r.plural}/{name}`
    paths[item] = {
      parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }],
      patch: {
        operationId: `patch${r.kind}`,
        parameters: ["dryRun", "fieldManager", "fieldValidation", "force"].map((name) => ({
          name,
          in: "query",
          schema: { type: "string" }
        })),
        responses: { "200": { description: "OK" } },
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": { group, version, kind: r.kind }
      }
    }
  }
  return { openapi: "3.0.0", info: { title: "Kubernetes", version: "v1.32.0-fake" }, paths }
}
