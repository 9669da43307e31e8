/**
 * `metav1.Status` failure bodies with the reasons, codes and message shapes of kube-apiserver,
 * so that clients which branch on `reason` or parse `message` behave as they would in a cluster.
 */

export interface StatusCause {
  readonly reason: string
  readonly message: string
  readonly field?: string
}

export interface StatusDetails {
  readonly name?: string
  readonly group?: string
  readonly kind?: string
  readonly uid?: string
  readonly causes?: ReadonlyArray<StatusCause>
  readonly retryAfterSeconds?: number
}

export interface StatusBody {
  readonly kind: "Status"
  readonly apiVersion: "v1"
  readonly metadata: Record<string, never>
  readonly status: "Failure" | "Success"
  readonly message?: string
  readonly reason?: string
  readonly details?: StatusDetails
  readonly code: number
}

/** Which resource an error is about: `group` empty for the core group, `resource` the plural. */
export interface Target {
  readonly group: string
  readonly resource: string
  readonly name: string
}

/** Thrown inside the fake; the HTTP layer turns it into a Status response. */
export class KubeError extends Error {
  readonly code: number
  readonly reason: string
  readonly details: StatusDetails

  constructor(code: number, reason: string, message: string, details: StatusDetails = {}) {
    super(message)
    this.code = code
    this.reason = reason
    this.details = details
  }

  get body(): StatusBody {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      details: this.details,
      code: this.code
    }
  }
}

// "configmaps" for the core group, "deployments.apps" otherwise: how the apiserver names a group resource.
const qualified = (t: Pick<Target, "group" | "resource">) => (t.group === "" ? t.resource : `${t.resource}.${t.group}`)

const targetDetails = (t: Target): StatusDetails =>
  t.group === "" ? { name: t.name, kind: t.resource } : { name: t.name, group: t.group, kind: t.resource }

export const notFound = (t: Target) => new KubeError(404, "NotFound", `${qualified(t)} "${t.name}" not found`, targetDetails(t))

export const alreadyExists = (t: Target) =>
  new KubeError(409, "AlreadyExists", `${qualified(t)} "${t.name}" already exists`, targetDetails(t))

export const conflict = (t: Target, why: string) =>
  new KubeError(409, "Conflict", `Operation cannot be fulfilled on ${qualified(t)} "${t.name}": ${why}`, targetDetails(t))

export const modified = (t: Target) =>
  conflict(t, "the object has been modified; please apply your changes to the latest version and try again")

/** 422: `kind` is the Kind here (as in the real server), not the plural. */
export const invalid = (kind: string, group: string, name: string, causes: ReadonlyArray<StatusCause>) => {
  const text = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message))
  const message = `${group === "" ? kind : `${kind}.${group}`} "${name}" is invalid: ${text.length === 1 ? text[0] : `[${text.join(", ")}]`}`
  return new KubeError(422, "Invalid", message, { name, ...(group === "" ? {} : { group }), kind, causes })
}

export const fieldInvalid = (field: string, value: unknown, detail: string): StatusCause => ({
  reason: "FieldValueInvalid",
  message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
  field
})

export const fieldRequired = (field: string, detail = ""): StatusCause => ({
  reason: "FieldValueRequired",
  message: detail === "" ? "Required value" : `Required value: ${detail}`,
  field
})

export const fieldForbidden = (field: string, detail: string): StatusCause => ({
  reason: "FieldValueForbidden",
  message: `Forbidden: ${detail}`,
  field
})

export const badRequest = (message: string) => new KubeError(400, "BadRequest", message)

export const forbidden = (t: Target, why: string, causes?: ReadonlyArray<StatusCause>) =>
  new KubeError(403, "Forbidden", `${qualified(t)} "${t.name}" is forbidden: ${why}`, {
    ...targetDetails(t),
    ...(causes ? { causes } : {})
  })

export const methodNotAllowed = (what: string) =>
  new KubeError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource (${what})`)

export const notFoundPath = () => new KubeError(404, "NotFound", "the server could not find the requested resource")

export const unsupportedMediaType = (contentType: string) =>
  new KubeError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json, application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got ${contentType})`
  )

export const tooManyRequests = (retryAfterSeconds: number) =>
  new KubeError(429, "TooManyRequests", "Too many requests, please try again later.", { retryAfterSeconds })

export const internalError = (why: string) =>
  new KubeError(500, "InternalError", `Internal error occurred: ${why}`, { causes: [{ reason: "", message: why }] })

export const serviceUnavailable = (retryAfterSeconds?: number) =>
  new KubeError(
    503,
    "ServiceUnavailable",
    "the server is currently unable to handle the request",
    retryAfterSeconds === undefined ? {} : { retryAfterSeconds }
  )

/** 410 for a watch that starts before the retained history; reason Expired, as for watches in the real server. */
export const expired = (requested: number, oldest: number) =>
  new KubeError(410, "Expired", `too old resource version: ${requested} (${oldest})`)

/** The single-conflict and many-conflict messages of server-side apply, as the real field manager words them. */
export const applyConflict = (t: Target, conflicts: ReadonlyArray<{ readonly manager: string; readonly field: string }>) => {
  const causes = conflicts.map((c) => ({ reason: "FieldManagerConflict", message: `conflict with ${c.manager}`, field: c.field }))
  const details = { ...targetDetails(t), causes }
  const first = conflicts[0]
  if (conflicts.length === 1 && first) {
    return new KubeError(409, "Conflict", `Apply failed with 1 conflict: conflict with ${first.manager}: ${first.field}`, details)
  }
  const byManager = new Map<string, Array<string>>()
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.field])
  const lines = [...byManager.keys()].sort().flatMap((m) => [`conflicts with ${m}:`, ...(byManager.get(m) ?? []).map((f) => `- ${f}`)])
  return new KubeError(409, "Conflict", `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`, details)
}
