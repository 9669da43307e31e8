import { Context, Effect, Layer } from "effect"
import type { SqlClient } from "effect/sql"
import type { StoreError, ValidationError } from "../Errors.ts"
import { makeMemoryKnowledge } from "./internal/memory.ts"
import { makeSqlKnowledge } from "./internal/sql.ts"

/** A document as stored: addressed by its knowledge base and an id unique within it. */
export interface KnowledgeDocument {
  /** The catalog name of the knowledge base (a DNS label). */
  readonly knowledgeBase: string
  /** A slug: lower-case letters, digits, `.`, `_` and `-`, at most 128 characters. */
  readonly id: string
  /** At most 1,000 characters, not blank. */
  readonly title: string
  /** At most 1 MiB of UTF-8; may be empty. */
  readonly text: string
  /** Where the document lives for people: an absolute http or https URL. */
  readonly url?: string | undefined
}

export type DocumentInput = KnowledgeDocument

export interface SearchRequest {
  /** Only documents of these knowledge bases are searched; none finds nothing. */
  readonly knowledgeBases: ReadonlyArray<string>
  /**
   * Words to find, in web-search syntax: every word must occur, `"quoted words"` as a phrase,
   * `or` between alternatives, `-word` excluded. Matching ignores case. At most 1,000 characters.
   */
  readonly query: string
  /** 1 to 50; 10 when absent. */
  readonly limit?: number | undefined
}

export interface SearchHit {
  readonly knowledgeBase: string
  readonly id: string
  readonly title: string
  readonly url?: string | undefined
  /** A passage of the text around the matches, each matched word marked `**like this**`. */
  readonly snippet: string
}

/**
 * Documents of the catalog's knowledge bases, searched by their words. The store knows nothing of
 * grants: whoever calls it decides which bases a caller may search (the knowledge MCP server asks
 * the tenant gate on every call), and a search never returns a document of a base it was not given.
 * Nor does it check that a base is in the catalog, so documents can be loaded before the base is
 * published.
 */
export class Knowledge extends Context.Service<
  Knowledge,
  {
    /**
     * Stores the document, replacing one with the same id in the same base. Fails with a
     * ValidationError naming each bad field (see `KnowledgeDocument` for the rules).
     */
    readonly put: (document: DocumentInput) => Effect.Effect<void, StoreError | ValidationError>
    /** True when the document was there. */
    readonly remove: (knowledgeBase: string, id: string) => Effect.Effect<boolean, StoreError | ValidationError>
    /**
     * Hits best first: a word in the title counts more than in the text, and more occurrences count
     * more with diminishing weight; ties go by base and id. A query without any word finds nothing
     * and no query is refused for its syntax. Fails with a ValidationError for a limit outside
     * 1–50, a query longer than 1,000 characters or a base name that cannot exist.
     */
    readonly search: (request: SearchRequest) => Effect.Effect<ReadonlyArray<SearchHit>, StoreError | ValidationError>
    readonly fetch: (knowledgeBase: string, id: string) => Effect.Effect<KnowledgeDocument | undefined, StoreError | ValidationError>
  }
>()("@clawfleet/core/Knowledge") {
  /** In process memory, for tests and embedding without a database. */
  static readonly layerMemory: Layer.Layer<Knowledge> = Layer.effect(Knowledge, makeMemoryKnowledge)

  /**
   * Over a PostgreSQL `SqlClient` (a server or PGlite), with PostgreSQL full-text search; migrates
   * the schema (default `clawfleet`) at start.
   */
  static layerSql(options: { readonly schema?: string | undefined } = {}): Layer.Layer<Knowledge, never, SqlClient.SqlClient> {
    return Layer.effect(Knowledge, Effect.orDie(makeSqlKnowledge(options)))
  }
}
