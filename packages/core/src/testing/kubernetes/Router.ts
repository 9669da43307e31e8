import type { Resources, ResourceType } from "./Resources.ts"
import { methodNotAllowed, notFoundPath } from "./Status.ts"

/** What the request log records of each request, before it is answered (failed ones included). */
export interface FakeKubeRequest {
  readonly method: string
  /** The URL path, without the query. */
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly verb: KubeVerb
  readonly apiVersion?: string
  readonly kind?: string
  /** The plural resource name of the URL, e.g. "configmaps". */
  readonly resource?: string
  readonly namespace?: string
  readonly name?: string
  readonly subresource?: string
  readonly fieldManager?: string
  readonly contentType?: string
}

export type KubeVerb = "get" | "list" | "watch" | "create" | "update" | "patch" | "apply" | "delete" | "deletecollection"

/** The verbs that change something, for asserting that a client wrote nothing: `requests().filter((r) => MUTATING_VERBS.has(r.verb))`. */
export const MUTATING_VERBS: ReadonlySet<KubeVerb> = new Set(["create", "update", "patch", "apply", "delete", "deletecollection"])

export type Route =
  | { readonly type: "version" }
  | { readonly type: "apiVersions" }
  | { readonly type: "resourceList"; readonly group: string; readonly version: string }
  | { readonly type: "groupList" }
  | { readonly type: "group"; readonly group: string }
  | { readonly type: "openApiRoot" }
  | { readonly type: "openApi"; readonly group: string; readonly version: string }
  | {
      readonly type: "resource"
      readonly rt: ResourceType
      readonly verb: KubeVerb
      readonly namespace: string | undefined
      readonly name: string | undefined
      readonly subresource: string | undefined
    }

const APPLY_TYPES = new Set(["application/apply-patch+yaml", "application/apply-patch+json"])

/** The media type of a Content-Type header, without parameters. */
export const mediaType = (header: string | undefined): string => (header ?? "").split(";")[0]!.trim().toLowerCase()

const resourceRoute = (
  resources: Resources,
  group: string,
  version: string,
  rest: ReadonlyArray<string>,
  method: string,
  watch: boolean,
  contentType: string
): Route => {
  // "/namespaces/{ns}/status" is the namespace's own subresource, not a resource inside it.
  const inNamespace = rest[0] === "namespaces" && rest.length >= 3 && !(rest.length === 3 && ["status", "finalize"].includes(rest[2]!))
  const [namespace, plural, name, subresource, extra] = inNamespace ? rest.slice(1) : [undefined, ...rest]
  if (plural === undefined || extra !== undefined) throw notFoundPath()
  const rt = resources.byPlural(group, version, plural)
  if (rt === undefined || (namespace !== undefined && !rt.namespaced) || (namespace === undefined && rt.namespaced && name !== undefined))
    throw notFoundPath()
  if (subresource !== undefined && subresource !== "status") throw notFoundPath()
  const verb = ((): KubeVerb => {
    switch (method) {
      case "GET":
        return name !== undefined ? "get" : watch ? "watch" : "list"
      case "POST":
        if (name !== undefined || (rt.namespaced && namespace === undefined)) throw methodNotAllowed(`post on ${rt.plural}`)
        return "create"
      case "PUT":
        if (name === undefined) throw methodNotAllowed(`put on ${rt.plural}`)
        return "update"
      case "PATCH":
        if (name === undefined) throw methodNotAllowed(`patch on ${rt.plural}`)
        return APPLY_TYPES.has(contentType) ? "apply" : "patch"
      case "DELETE":
        if (subresource !== undefined) throw methodNotAllowed(`delete on ${rt.plural}/${subresource}`)
        return name !== undefined ? "delete" : "deletecollection"
      default:
        throw methodNotAllowed(`${method.toLowerCase()} on ${rt.plural}`)
    }
  })()
  return { type: "resource", rt, verb, namespace, name, subresource }
}

/** Maps a request to what it addresses; throws 404/405 Status errors like the real server. */
export const route = (resources: Resources, method: string, pathname: string, watch: boolean, contentType: string): Route => {
  const s = pathname
    .split("/")
    .filter((p) => p !== "")
    .map((p) => decodeURIComponent(p))
  const [root, a, b, ...more] = s
  if (root === "version" && a === undefined) return { type: "version" }
  if (root === "openapi" && a === "v3") {
    if (b === undefined) return { type: "openApiRoot" }
    if (b === "api" && more.length === 1) return { type: "openApi", group: "", version: more[0]! }
    if (b === "apis" && more.length === 2) return { type: "openApi", group: more[0]!, version: more[1]! }
  }
  if (root === "api") {
    if (a === undefined) return { type: "apiVersions" }
    if (b === undefined) return { type: "resourceList", group: "", version: a }
    return resourceRoute(resources, "", a, [b, ...more], method, watch, contentType)
  }
  if (root === "apis") {
    if (a === undefined) return { type: "groupList" }
    if (b === undefined) return { type: "group", group: a }
    if (more.length === 0) return { type: "resourceList", group: a, version: b }
    return resourceRoute(resources, a, b, more, method, watch, contentType)
  }
  throw notFoundPath()
}
