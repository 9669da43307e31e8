/** A request to a tool, as its path names it: `/mcp/{tool}{/sub-path}{?query}`. */
export interface ToolRoute {
  readonly tool: string
  /** Below the tool's URL, as sent (still percent-encoded); "" for the tool's URL itself. */
  readonly subPath: string
  /** "" or `?...`, as sent. */
  readonly search: string
}

// Catalog tool names are DNS labels; anything else cannot name a tool.
const TOOL_PATH = /^\/mcp\/([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\/[^?#]*)?(\?[^#]*)?$/

/**
 * The route a request target names, "unknown" when it names no tool, or "bad-path" when its
 * sub-path would climb out of the tool's URL: `..` (also percent-encoded) is refused rather than
 * sent, since the upstream would resolve it against a path the broker's credential also opens.
 */
export const routeOf = (target: string | undefined): ToolRoute | "unknown" | "bad-path" => {
  const match = TOOL_PATH.exec(target ?? "")
  if (match === null) return "unknown"
  const subPath = match[2] === "/" ? "" : (match[2] ?? "")
  for (const segment of subPath.split("/").slice(1)) {
    let decoded: string
    try {
      decoded = decodeURIComponent(segment)
    } catch {
      return "bad-path"
    }
    if (decoded === "." || decoded === ".." || decoded.includes("/") || decoded.includes("\\")) return "bad-path"
  }
  return { tool: match[1]!, subPath, search: match[3] ?? "" }
}

/** The upstream URL for a route: the tool's path plus the sub-path, and both queries. */
export const upstreamUrl = (toolUrl: string, route: ToolRoute): URL => {
  const url = new URL(toolUrl)
  if (route.subPath !== "") url.pathname = url.pathname.replace(/\/$/, "") + route.subPath
  const extra = route.search.slice(1)
  if (extra !== "") url.search = url.search === "" ? `?${extra}` : `${url.search}&${extra}`
  return url
}
