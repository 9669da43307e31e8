import { clone, deepEqual, isRecord, type KubeObject, metaOf } from "./Json.ts"
import type { PropagationPolicy } from "./Lifecycle.ts"
import { readEntries } from "./ManagedFields.ts"
import { jsonPatch, mergePatch, patchTypeOf, strategicMergePatch } from "./Patch.ts"
import { type Call, listItem, parseJson, type ServerState, selected } from "./Reads.ts"
import type { ResourceType } from "./Resources.ts"
import type { KubeVerb } from "./Router.ts"
import { badRequest, fieldForbidden, fieldRequired, invalid, modified, notFound, unsupportedMediaType } from "./Status.ts"

/** The handlers that write: create, update, patch, apply, delete and deletecollection, and the status subresource. */

export const serveWrite = (
  st: ServerState,
  rt: ResourceType,
  verb: KubeVerb,
  namespace: string | undefined,
  name: string | undefined,
  subresource: string | undefined,
  call: Call
) => {
  const { query, respond } = call
  const dryRun = query.dryRun === "All"
  if (query.dryRun !== undefined && query.dryRun !== "All") throw badRequest(`Invalid dryRun value: ${query.dryRun}`)
  const ctx = { manager: call.manager, dryRun }
  const s = st.store
  const existing = () => {
    const obj = s.get(rt, namespace, name ?? "")
    if (obj === undefined) throw notFound(s.target(rt, name ?? ""))
    return obj
  }
  if ((verb === "create" || verb === "update") && call.contentType !== "" && call.contentType !== "application/json") {
    throw unsupportedMediaType(call.contentType)
  }
  if (verb !== "apply" && query.force === "true") {
    throw invalid("PatchOptions", "meta.k8s.io", "", [fieldForbidden("force", "may not be specified for non-apply patch")])
  }
  switch (verb) {
    case "create":
      return respond(201, s.create(rt, s.envelope(rt, parseJson(call.body), namespace, undefined), ctx))
    case "update": {
      const obj = s.envelope(rt, parseJson(call.body), namespace, name)
      const old = existing()
      if (obj.metadata?.resourceVersion !== undefined && obj.metadata.resourceVersion !== old.metadata?.resourceVersion)
        throw modified(s.target(rt, name ?? ""))
      if (subresource === "status") return respond(200, writeStatus(st, rt, old, obj.status, ctx))
      const reset = Array.isArray(obj.metadata?.managedFields) && obj.metadata.managedFields.length === 0
      return respond(200, s.updateAs(rt, old, obj, ctx, reset ? [] : readEntries(old)))
    }
    case "patch": {
      const type = patchTypeOf(call.contentType)
      if (type === undefined || type === "apply") throw unsupportedMediaType(call.contentType)
      const old = existing()
      const patch = parseJson(call.body)
      if (type !== "json" && !isRecord(patch)) throw badRequest("a merge patch must be a JSON object")
      const patched = type === "json" ? jsonPatch(old, patch) : type === "merge" ? mergePatch(old, patch) : strategicMergePatch(old, patch)
      if (!isRecord(patched)) throw badRequest("the patch did not produce an object")
      const obj = s.envelope(rt, patched, namespace, name)
      if (obj.metadata?.resourceVersion !== old.metadata?.resourceVersion) throw modified(s.target(rt, name ?? ""))
      if (subresource === "status") return respond(200, writeStatus(st, rt, old, obj.status, ctx))
      const managed = obj.metadata?.managedFields
      const base = deepEqual(managed, old.metadata?.managedFields)
        ? readEntries(old)
        : readEntries(obj).filter((e) => e.manager !== undefined)
      return respond(200, s.updateAs(rt, old, obj, ctx, base))
    }
    case "apply": {
      if (query.fieldManager === undefined || query.fieldManager === "") {
        throw invalid("PatchOptions", "meta.k8s.io", "", [fieldRequired("fieldManager", "is required for apply patch")])
      }
      const body = parseJson(call.body)
      if (!isRecord(body) || typeof body.kind !== "string" || typeof body.apiVersion !== "string") {
        throw badRequest(`Object 'Kind' is missing in '${call.body.slice(0, 200)}'`)
      }
      if (subresource === "status") return respond(200, writeStatus(st, rt, existing(), mergePatch(existing().status, body.status), ctx))
      const obj = s.envelope(rt, body, namespace, name)
      const existed = s.get(rt, namespace, name ?? "") !== undefined
      return respond(existed ? 200 : 201, s.apply(rt, obj, { ...ctx, force: query.force === "true" }))
    }
    case "delete":
      return respond(200, remove(st, rt, namespace, name ?? "", call))
    case "deletecollection": {
      const gone = selected(st, rt, namespace, query).map(
        (o) => st.lifecycle.delete(rt, o.metadata?.namespace, o.metadata?.name ?? "", deleteOptions(call)).object
      )
      return respond(200, {
        kind: rt.listKind,
        apiVersion: rt.apiVersion,
        metadata: { resourceVersion: String(s.currentRv()) },
        items: gone.map(listItem)
      })
    }
  }
}

// The status subresource changes status only; managed fields are not recorded for it.
const writeStatus = (st: ServerState, rt: ResourceType, old: KubeObject, status: unknown, ctx: { manager: string; dryRun: boolean }) => {
  const next = clone(old)
  if (status === undefined) delete next.status
  else next.status = clone(status)
  return st.store.update(rt, old, next, { ...ctx, direct: true }, () => readEntries(old))
}

const deleteOptions = (call: Call) => {
  const body = call.body.trim() === "" ? {} : parseJson(call.body)
  const opts = isRecord(body) ? body : {}
  const policy = call.query.propagationPolicy ?? opts.propagationPolicy
  if (policy !== undefined && policy !== "Background" && policy !== "Foreground" && policy !== "Orphan") {
    throw badRequest(
      `propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan"`
    )
  }
  const pre = isRecord(opts.preconditions) ? opts.preconditions : {}
  return {
    dryRun: call.query.dryRun === "All" || (Array.isArray(opts.dryRun) && opts.dryRun.includes("All")),
    ...(policy === undefined ? {} : { propagationPolicy: policy as PropagationPolicy }),
    preconditions: {
      ...(typeof pre.uid === "string" ? { uid: pre.uid } : {}),
      ...(typeof pre.resourceVersion === "string" ? { resourceVersion: pre.resourceVersion } : {})
    }
  }
}

const remove = (st: ServerState, rt: ResourceType, namespace: string | undefined, name: string, call: Call): unknown => {
  const { object, removed } = st.lifecycle.delete(rt, namespace, name, deleteOptions(call))
  if (!removed || rt.returnsDeletedObject) return object
  const meta = metaOf(clone(object))
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: { name, ...(rt.group === "" ? {} : { group: rt.group }), kind: rt.plural, uid: meta.uid }
  }
}
