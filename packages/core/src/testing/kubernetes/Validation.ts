import { deepEqual, isRecord, type KubeObject } from "./Json.ts"
import type { NameRule, ResourceType } from "./Resources.ts"
import { labelKeyError, labelValueError } from "./Selectors.ts"
import { fieldForbidden, fieldInvalid, fieldRequired, internalError, type StatusCause } from "./Status.ts"

/**
 * What the apiserver rejects with 422 Invalid: names and labels, the OpenAPI schema of built-in
 * kinds (through kubernetes-models, loaded on first use so that the testing entry point does not
 * need it), and a few semantic rules that controllers commonly trip over.
 */

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/

const nameError = (rule: NameRule, name: string): string | undefined => {
  switch (rule) {
    case "subdomain":
      if (name.length > 253) return "must be no more than 253 characters"
      return SUBDOMAIN.test(name)
        ? undefined
        : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    case "label":
      if (name.length > 63) return "must be no more than 63 characters"
      return LABEL.test(name)
        ? undefined
        : "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    case "dns1035":
      if (name.length > 63) return "must be no more than 63 characters"
      return DNS1035.test(name)
        ? undefined
        : "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    case "pathSegment":
      if (name === "." || name === "..") return `may not be '${name}'`
      return /[/%]/.test(name) ? "may not contain '/' or '%'" : undefined
  }
}

export const metadataCauses = (rt: ResourceType, obj: KubeObject): Array<StatusCause> => {
  const causes: Array<StatusCause> = []
  const meta = obj.metadata ?? {}
  const name = meta.name
  if (typeof name !== "string" || name === "") causes.push(fieldRequired("metadata.name", "name or generateName is required"))
  else {
    const why = nameError(rt.nameRule, name)
    if (why !== undefined) causes.push(fieldInvalid("metadata.name", name, why))
  }
  for (const [k, v] of Object.entries(isRecord(meta.labels) ? meta.labels : {})) {
    const keyWhy = labelKeyError(k)
    if (keyWhy !== undefined) causes.push(fieldInvalid("metadata.labels", k, keyWhy))
    const valueWhy = typeof v === "string" ? labelValueError(v) : "must be a string"
    if (valueWhy !== undefined) causes.push(fieldInvalid("metadata.labels", v, valueWhy))
  }
  for (const k of Object.keys(isRecord(meta.annotations) ? meta.annotations : {})) {
    const keyWhy = labelKeyError(k)
    if (keyWhy !== undefined) causes.push(fieldInvalid("metadata.annotations", k, keyWhy))
  }
  return causes
}

type Model = new (data: unknown) => { validate(): void }
const models = new Map<string, Promise<Model | undefined>>()

/** Loads (once per kind, for every server in the process) the kubernetes-models class of `rt`. */
export const loadModel = (rt: ResourceType): Promise<Model | undefined> => {
  if (rt.model === undefined) return Promise.resolve(undefined)
  const specifier = `${rt.model}/${rt.kind}`
  let loading = models.get(specifier)
  if (loading === undefined) {
    // A computed specifier keeps bundlers from inlining kubernetes-models into the testing entry point.
    loading = import(specifier).then(
      (mod: Record<string, unknown>) => mod[rt.kind] as Model,
      (cause: unknown) => {
        models.delete(specifier)
        throw internalError(`validation needs kubernetes-models (pass validate: false to go without): ${String(cause)}`)
      }
    )
    models.set(specifier, loading)
  }
  return loading
}

// "/spec/template/spec/containers/0/image" -> "spec.template.spec.containers[0].image"
const fieldOfPointer = (pointer: string): string =>
  pointer
    .split("/")
    .filter((s) => s !== "")
    .map((s, i) => (/^\d+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`))
    .join("")

interface AjvError {
  readonly instancePath?: string
  readonly keyword?: string
  readonly message?: string
  readonly params?: { readonly missingProperty?: string }
}

const valueAt = (obj: unknown, pointer: string): unknown =>
  pointer
    .split("/")
    .filter((s) => s !== "")
    .reduce<unknown>((cur, s) => (Array.isArray(cur) ? cur[Number(s)] : isRecord(cur) ? cur[s] : undefined), obj)

export const schemaCauses = (model: Model, obj: KubeObject): Array<StatusCause> => {
  try {
    new model(obj).validate()
    return []
  } catch (e) {
    const errors = (e as { errors?: ReadonlyArray<AjvError> }).errors
    if (!Array.isArray(errors) || errors.length === 0) return [{ reason: "FieldValueInvalid", message: String((e as Error).message ?? e) }]
    return errors.map((err: AjvError) => {
      const at = err.instancePath ?? ""
      if (err.keyword === "required" && err.params?.missingProperty) {
        return fieldRequired(fieldOfPointer(`${at}/${err.params.missingProperty}`))
      }
      return fieldInvalid(fieldOfPointer(at), valueAt(obj, at), err.message ?? "is invalid")
    })
  }
}

const containerCauses = (podSpec: unknown, at: string): Array<StatusCause> => {
  if (!isRecord(podSpec)) return [fieldRequired(at)]
  const containers = podSpec.containers
  if (!Array.isArray(containers) || containers.length === 0) return [fieldRequired(`${at}.containers`)]
  return containers.flatMap((c, i) => {
    const causes: Array<StatusCause> = []
    if (!isRecord(c) || typeof c.name !== "string" || c.name === "") causes.push(fieldRequired(`${at}.containers[${i}].name`))
    if (!isRecord(c) || typeof c.image !== "string" || c.image === "") causes.push(fieldRequired(`${at}.containers[${i}].image`))
    return causes
  })
}

const selectorMatches = (selector: Record<string, unknown>, labels: Record<string, unknown>): boolean => {
  const matchLabels = isRecord(selector.matchLabels) ? selector.matchLabels : {}
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : []
  return (
    Object.entries(matchLabels).every(([k, v]) => labels[k] === v) &&
    expressions.every((e: unknown) => {
      if (!isRecord(e) || typeof e.key !== "string") return false
      const has = Object.hasOwn(labels, e.key)
      const values = Array.isArray(e.values) ? e.values : []
      if (e.operator === "In") return has && values.includes(labels[e.key])
      if (e.operator === "NotIn") return !has || !values.includes(labels[e.key])
      if (e.operator === "Exists") return has
      if (e.operator === "DoesNotExist") return !has
      return false
    })
  )
}

/** Rules of the apiserver's validation that the OpenAPI schema cannot express. */
export const semanticCauses = (rt: ResourceType, obj: KubeObject, old: KubeObject | undefined): Array<StatusCause> => {
  const spec = isRecord(obj.spec) ? obj.spec : undefined
  if (rt.group === "" && rt.kind === "Pod") return containerCauses(spec, "spec")
  if (rt.group === "apps" && (rt.kind === "Deployment" || rt.kind === "StatefulSet")) {
    const causes: Array<StatusCause> = []
    const template = isRecord(spec?.template) ? spec.template : {}
    const labels = isRecord(template.metadata) && isRecord(template.metadata.labels) ? template.metadata.labels : {}
    if (!isRecord(spec?.selector)) causes.push(fieldRequired("spec.selector"))
    else if (!selectorMatches(spec.selector, labels)) {
      causes.push(fieldInvalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`"))
    }
    if (old !== undefined && isRecord(old.spec) && !deepEqual(old.spec.selector, spec?.selector)) {
      causes.push(fieldInvalid("spec.selector", spec?.selector ?? null, "field is immutable"))
    }
    return [...causes, ...containerCauses(template.spec, "spec.template.spec")]
  }
  if (rt.group === "" && (rt.kind === "ConfigMap" || rt.kind === "Secret") && old?.immutable === true) {
    const causes: Array<StatusCause> = []
    for (const field of ["data", "binaryData", ...(rt.kind === "Secret" ? ["type"] : [])]) {
      if (!deepEqual(old[field], obj[field])) causes.push(fieldForbidden(field, "field is immutable when `immutable` is set"))
    }
    if (obj.immutable !== true) causes.push(fieldForbidden("immutable", "field is immutable when `immutable` is set"))
    return causes
  }
  if (rt.group === "" && rt.kind === "Service" && spec?.type !== "ExternalName" && spec?.clusterIP !== "None") {
    if (!Array.isArray(spec?.ports) || spec.ports.length === 0) return [fieldRequired("spec.ports")]
  }
  return []
}

/** Validation of one server: name and label rules always, schema and semantic rules when enabled. */
export class Validator {
  private readonly enabled: boolean
  private readonly loaded = new Map<ResourceType, Model | undefined>()

  constructor(enabled: boolean) {
    this.enabled = enabled
  }

  /** Loads what `causes` needs for `rt`; the store's writes are synchronous, so this runs before them. */
  async prepare(rt: ResourceType): Promise<void> {
    if (this.enabled && !this.loaded.has(rt)) this.loaded.set(rt, await loadModel(rt))
  }

  causes(rt: ResourceType, obj: KubeObject, old: KubeObject | undefined): Array<StatusCause> {
    const causes = metadataCauses(rt, obj)
    if (!this.enabled) return causes
    const model = this.loaded.get(rt)
    return [...causes, ...(model === undefined ? [] : schemaCauses(model, obj)), ...semanticCauses(rt, obj, old)]
  }
}
