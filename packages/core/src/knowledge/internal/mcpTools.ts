import { Effect } from "effect"
import type { Catalog } from "../../Catalog.ts"
import type { KnowledgeBase } from "../../domain/Catalog.ts"
import type { StoreError } from "../../Errors.ts"
import type { TenantGate, TenantIdentity } from "../../proxy/TenantGate.ts"
import type { Knowledge } from "../Knowledge.ts"
import { DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT } from "./rules.ts"

/** Who is asking, and the one knowledge base the endpoint serves when its path names one. */
export interface Caller {
  readonly identity: TenantIdentity
  readonly scope: string | undefined
}

export interface ToolResult {
  readonly content: ReadonlyArray<{ readonly type: "text"; readonly text: string }>
  readonly structuredContent?: Record<string, unknown>
  readonly isError?: true
}

export interface ToolsConfig {
  readonly gate: TenantGate["Service"]
  readonly knowledge: Knowledge["Service"]
  readonly catalog: Catalog["Service"]
}

// A tool's failure goes back as its result, not a protocol error, so the model reads it and can
// correct itself (MCP's own advice for tool errors).
const failed = (text: string): ToolResult => ({ content: [{ type: "text", text }], isError: true })

// Clients that predate structured content read the same JSON as text.
const succeeded = (structured: Record<string, unknown>): ToolResult => ({
  content: [{ type: "text", text: JSON.stringify(structured) }],
  structuredContent: structured
})

const describeBases = (bases: ReadonlyArray<KnowledgeBase>): string =>
  bases.length === 0
    ? "No knowledge base is granted to this assistant yet."
    : `Knowledge bases: ${bases.map((b) => `"${b.name}" (${b.displayName}${b.description ? `: ${b.description}` : ""})`).join("; ")}.`

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** The `search` and `fetch` tools, deciding the caller's grants afresh on every call. */
export const makeTools = ({ gate, knowledge, catalog }: ToolsConfig) => {
  const granted = (caller: Caller, name: string) => gate.grantedKnowledge(caller.identity, name)

  // Listing reads the catalog, which is small; the grant of each base is the gate's cached answer.
  const grantedBases = (caller: Caller): Effect.Effect<ReadonlyArray<KnowledgeBase>, StoreError> =>
    Effect.gen(function* () {
      const all =
        caller.scope === undefined
          ? (yield* catalog.knowledgeBases.all).map((b) => b.value)
          : [(yield* catalog.knowledgeBases.find(caller.scope))?.value].filter((b) => b !== undefined)
      const allowed = yield* Effect.forEach(all, (b) => granted(caller, b.name))
      return all.filter((_, i) => allowed[i]).sort((a, b) => (a.name < b.name ? -1 : 1))
    })

  const refuse = (caller: Caller, name: string) =>
    Effect.as(
      gate.audit({
        actor: `tenant:${caller.identity.tenant}`,
        action: "knowledge.deny",
        target: { kind: "knowledge", id: name },
        decision: "not-granted"
      }),
      failed(`The knowledge base "${name}" is not granted to this assistant.`)
    )

  /** The base a call names, checked: its own, or the endpoint's when it names none. */
  const target = (caller: Caller, named: unknown): Effect.Effect<string | ToolResult | undefined, StoreError> =>
    Effect.gen(function* () {
      if (named !== undefined && typeof named !== "string") return failed("`knowledgeBase` must be a string.")
      if (caller.scope !== undefined && named !== undefined && named !== caller.scope) {
        return failed(`This server serves only the knowledge base "${caller.scope}".`)
      }
      const name = named ?? caller.scope
      if (name === undefined) return undefined
      return (yield* granted(caller, name)) ? name : yield* refuse(caller, name)
    })

  const search = (caller: Caller, args: Record<string, unknown>) =>
    Effect.gen(function* () {
      const { query, limit } = args
      if (typeof query !== "string") return failed("`query` must be a string.")
      if (limit !== undefined && (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_SEARCH_LIMIT)) {
        return failed(`\`limit\` must be a whole number from 1 to ${MAX_SEARCH_LIMIT}.`)
      }
      const one = yield* target(caller, args.knowledgeBase)
      if (typeof one === "object") return one
      const bases = one === undefined ? (yield* grantedBases(caller)).map((b) => b.name) : [one]
      return yield* knowledge.search({ knowledgeBases: bases, query, limit: (limit as number | undefined) ?? DEFAULT_SEARCH_LIMIT }).pipe(
        Effect.map((results) => succeeded({ results })),
        Effect.catchTag("ValidationError", (e) => Effect.succeed(failed(e.message)))
      )
    })

  const fetch = (caller: Caller, args: Record<string, unknown>) =>
    Effect.gen(function* () {
      const { id } = args
      if (typeof id !== "string") return failed("`id` must be a string.")
      const base = yield* target(caller, args.knowledgeBase)
      if (base === undefined) return failed("`knowledgeBase` is required: name the knowledge base the document is in.")
      if (typeof base === "object") return base
      return yield* knowledge.fetch(base, id).pipe(
        Effect.map((document) =>
          document === undefined ? failed(`There is no document "${id}" in the knowledge base "${base}".`) : succeeded({ ...document })
        ),
        Effect.catchTag("ValidationError", (e) => Effect.succeed(failed(e.message)))
      )
    })

  const baseProperty = (caller: Caller) => ({
    type: "string",
    description:
      caller.scope === undefined
        ? "The name of one knowledge base to search; every granted one when absent."
        : `Optional: this server serves only "${caller.scope}".`
  })

  return {
    list: (caller: Caller) =>
      Effect.map(grantedBases(caller), (bases) => [
        {
          name: "search",
          title: "Search knowledge",
          description: `Full-text search of the documents this assistant may read. Every word must occur; use "quoted phrases", or, and -word to exclude. Returns ids, titles and snippets; read a document with fetch. ${describeBases(bases)}`,
          inputSchema: {
            type: "object",
            properties: {
              query: { type: "string", description: "Words to search for." },
              knowledgeBase: baseProperty(caller),
              limit: {
                type: "integer",
                minimum: 1,
                maximum: MAX_SEARCH_LIMIT,
                description: `At most this many results; ${DEFAULT_SEARCH_LIMIT} when absent.`
              }
            },
            required: ["query"]
          },
          annotations: { readOnlyHint: true, openWorldHint: false }
        },
        {
          name: "fetch",
          title: "Read a document",
          description: "The whole text of one document, by the knowledge base and id a search returned.",
          inputSchema: {
            type: "object",
            properties: { knowledgeBase: baseProperty(caller), id: { type: "string", description: "The document's id." } },
            required: caller.scope === undefined ? ["knowledgeBase", "id"] : ["id"]
          },
          annotations: { readOnlyHint: true, openWorldHint: false }
        }
      ]),

    /** Undefined for a tool that does not exist. */
    call: (caller: Caller, name: string, args: unknown): Effect.Effect<ToolResult | undefined, StoreError> => {
      const tool = name === "search" ? search : name === "fetch" ? fetch : undefined
      if (tool === undefined) return Effect.succeed(undefined)
      if (args !== undefined && !isRecord(args)) return Effect.succeed(failed("The arguments must be an object."))
      return tool(caller, args ?? {})
    }
  }
}

export type Tools = ReturnType<typeof makeTools>
