import type { ServerResponse } from "node:http"
import * as Discovery from "./Discovery.ts"
import type { Faults } from "./Faults.ts"
import type { KubeObject } from "./Json.ts"
import type { Lifecycle } from "./Lifecycle.ts"
import type { ObjectStore } from "./ObjectStore.ts"
import type { Resources, ResourceType } from "./Resources.ts"
import type { FakeKubeRequest, Route } from "./Router.ts"
import { labelsOf, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from "./Selectors.ts"
import { badRequest, notFound, notFoundPath } from "./Status.ts"
import type { Validator } from "./Validation.ts"
import type { WatchHub } from "./Watch.ts"

/** What the handlers share, and the ones that only read: discovery, get, list, watch. */

export interface ServerState {
  readonly resources: Resources
  readonly store: ObjectStore
  readonly lifecycle: Lifecycle
  readonly hub: WatchHub
  readonly validator: Validator
  readonly faults: Faults
  readonly log: Array<FakeKubeRequest>
}

export interface Call {
  readonly query: Readonly<Record<string, string>>
  readonly contentType: string
  readonly body: string
  readonly manager: string
  /** Where watches stream; everything else answers through `respond`. */
  readonly res: ServerResponse
  readonly respond: (code: number, body: unknown, headers?: Record<string, string>) => void
  readonly serverAddress: string
}

export const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch (e) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`)
  }
}

export const serveRoute = (st: ServerState, rt: Route, call: Call) => {
  const found = (doc: unknown) => {
    if (doc === undefined) throw notFoundPath()
    call.respond(200, doc)
  }
  switch (rt.type) {
    case "version":
      return found(Discovery.version())
    case "apiVersions":
      return found(Discovery.apiVersions(call.serverAddress))
    case "groupList":
      return found(Discovery.groupList(st.resources))
    case "group":
      return found(Discovery.group(st.resources, rt.group))
    case "resourceList":
      return found(Discovery.resourceList(st.resources, rt.group, rt.version))
    case "openApiRoot":
      return found(Discovery.openApiRoot(st.resources))
    case "openApi":
      return found(Discovery.openApiGroupVersion(st.resources, rt.group, rt.version))
    case "resource":
      if (rt.verb === "get") {
        const obj = st.store.get(rt.rt, rt.namespace, rt.name ?? "")
        if (obj === undefined) throw notFound(st.store.target(rt.rt, rt.name ?? ""))
        return call.respond(200, obj)
      }
      if (rt.verb === "list") return list(st, rt.rt, rt.namespace, call)
      if (rt.verb === "watch") return watch(st, rt.rt, rt.namespace, call)
  }
}

export const selected = (st: ServerState, rt: ResourceType, namespace: string | undefined, query: Readonly<Record<string, string>>) => {
  const labels = parseLabelSelector(query.labelSelector)
  const fields = parseFieldSelector(query.fieldSelector, rt)
  return st.store.list(rt, namespace).filter((o) => matchesLabels(labels, labelsOf(o)) && matchesFields(fields, o))
}

// List items carry no apiVersion/kind, as in the real server's list responses.
export const listItem = (o: KubeObject) => {
  const { apiVersion: _a, kind: _k, ...rest } = o
  return rest
}

const list = (st: ServerState, rt: ResourceType, namespace: string | undefined, call: Call) => {
  const all = selected(st, rt, namespace, call.query)
  const limit = call.query.limit === undefined ? 0 : Number(call.query.limit)
  if (!Number.isInteger(limit) || limit < 0) throw badRequest(`invalid limit: ${call.query.limit}`)
  const after =
    call.query.continue === undefined || call.query.continue === "" ? undefined : Buffer.from(call.query.continue, "base64url").toString()
  const keyOf = (o: KubeObject) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`
  const rest = after === undefined ? all : all.filter((o) => keyOf(o) > after)
  const page = limit > 0 ? rest.slice(0, limit) : rest
  const more = rest.length - page.length
  const last = page[page.length - 1]
  const metadata = {
    resourceVersion: String(st.store.currentRv()),
    ...(more > 0 && last !== undefined ? { continue: Buffer.from(keyOf(last)).toString("base64url"), remainingItemCount: more } : {})
  }
  call.respond(200, { kind: rt.listKind, apiVersion: rt.apiVersion, metadata, items: page.map(listItem) })
}

const watch = (st: ServerState, rt: ResourceType, namespace: string | undefined, call: Call) => {
  const q = call.query
  const rv =
    q.resourceVersion === undefined || q.resourceVersion === "" || q.resourceVersion === "0" ? undefined : Number(q.resourceVersion)
  if (rv !== undefined && !Number.isInteger(rv)) throw badRequest(`invalid resource version: ${q.resourceVersion}`)
  const timeout = q.timeoutSeconds === undefined ? undefined : Number(q.timeoutSeconds)
  const request = {
    rt,
    namespace,
    labels: parseLabelSelector(q.labelSelector),
    fields: parseFieldSelector(q.fieldSelector, rt),
    resourceVersion: rv,
    bookmarks: q.allowWatchBookmarks === "true",
    timeoutSeconds: timeout !== undefined && Number.isFinite(timeout) && timeout > 0 ? timeout : undefined
  }
  st.hub.start(request, call.res, () => st.store.list(rt, namespace))
}
