/**
 * Where a live object no longer says what we applied. Only the fields of the intent count: the
 * server adds defaults, status, managed fields and a resource version, and other controllers
 * may add labels of their own; none of that is drift. A list must match item for item, since an
 * extra container or rule is a change in behaviour.
 */
export const intentDiff = (live: unknown, intent: unknown, path = ""): Array<string> => {
  if (intent === undefined) return []
  if (Array.isArray(intent)) {
    if (!Array.isArray(live)) return [`${path}: ${show(live)} -> ${show(intent)}`]
    if (live.length !== intent.length) return [`${path}: ${live.length} items -> ${intent.length} items`]
    return intent.flatMap((item, i) => intentDiff(live[i], item, `${path}[${i}]`))
  }
  if (intent !== null && typeof intent === "object") {
    if (live === null || typeof live !== "object" || Array.isArray(live)) return [`${path}: ${show(live)} -> ${show(intent)}`]
    return Object.entries(intent).flatMap(([k, v]) => intentDiff((live as Record<string, unknown>)[k], v, path === "" ? k : `${path}.${k}`))
  }
  return live === intent ? [] : [`${path}: ${show(live)} -> ${show(intent)}`]
}

const show = (v: unknown) => (v === undefined ? "(absent)" : JSON.stringify(v))
