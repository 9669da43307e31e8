import { type FieldIssue, ValidationError } from "../../Errors.ts"
import type { DocumentInput, SearchRequest } from "../Knowledge.ts"

// The rules both implementations share, so memory refuses exactly what SQL would.

export const MAX_TEXT_BYTES = 1024 * 1024
export const MAX_TITLE_LENGTH = 1000
export const MAX_URL_LENGTH = 2048
export const MAX_QUERY_LENGTH = 1000
export const MAX_SEARCH_LIMIT = 50
export const DEFAULT_SEARCH_LIMIT = 10
export const MAX_SEARCH_BASES = 1000

// Catalog names of knowledge bases are DNS labels; a document can only belong to one of those.
const baseName = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const slug = /^[a-z0-9](?:[a-z0-9._-]{0,126}[a-z0-9])?$/

const BASE_RULE = "must be a knowledge base name: a DNS label of lower-case letters, digits and '-'"
const ID_RULE = "must be a slug of 1-128 lower-case letters, digits, '.', '_' and '-', starting and ending with a letter or digit"

// PostgreSQL text holds neither NUL nor broken surrogate pairs; refusing them here keeps the
// memory store from accepting what SQL cannot.
const storable = (s: string) => s.isWellFormed() && !s.includes("\u0000")
const TEXT_RULE = "must be text without NUL characters or broken surrogate pairs"

const baseIssue = (path: string, value: unknown): ReadonlyArray<FieldIssue> =>
  typeof value === "string" && baseName.test(value) ? [] : [{ path, message: BASE_RULE }]

const idIssue = (path: string, value: unknown): ReadonlyArray<FieldIssue> =>
  typeof value === "string" && slug.test(value) ? [] : [{ path, message: ID_RULE }]

const textIssue = (path: string, value: unknown, check: (s: string) => string | undefined): ReadonlyArray<FieldIssue> => {
  if (typeof value !== "string") return [{ path, message: "must be a string" }]
  if (!storable(value)) return [{ path, message: TEXT_RULE }]
  const problem = check(value)
  return problem === undefined ? [] : [{ path, message: problem }]
}

const urlProblem = (value: string): string | undefined => {
  if (value.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`
  let parsed: URL
  try {
    parsed = new URL(value)
  } catch {
    return "must be an absolute http or https URL"
  }
  return parsed.protocol === "http:" || parsed.protocol === "https:" ? undefined : "must be an absolute http or https URL"
}

const failure = (subject: string, issues: ReadonlyArray<FieldIssue>) =>
  issues.length === 0 ? undefined : new ValidationError({ subject, issues })

/** Every problem with a document to store, each naming its field; undefined when there is none. */
export const documentError = (input: DocumentInput): ValidationError | undefined =>
  failure("knowledge document", [
    ...baseIssue("knowledgeBase", input.knowledgeBase),
    ...idIssue("id", input.id),
    ...textIssue("title", input.title, (t) =>
      t.trim() === "" ? "must not be empty" : t.length > MAX_TITLE_LENGTH ? `must be at most ${MAX_TITLE_LENGTH} characters` : undefined
    ),
    ...textIssue("text", input.text, (t) =>
      Buffer.byteLength(t, "utf8") > MAX_TEXT_BYTES ? `must be at most ${MAX_TEXT_BYTES} bytes of UTF-8 (1 MiB)` : undefined
    ),
    ...(input.url === undefined ? [] : textIssue("url", input.url, urlProblem))
  ])

/** Problems with the address of one document (remove, fetch). */
export const addressError = (knowledgeBase: string, id: string): ValidationError | undefined =>
  failure("knowledge document", [...baseIssue("knowledgeBase", knowledgeBase), ...idIssue("id", id)])

/**
 * Problems with a search. A query is never refused for what it says, only for not being a
 * string or being too long: any text searches, and one with no words finds nothing.
 */
export const searchError = (request: SearchRequest): ValidationError | undefined => {
  const bases: unknown = request.knowledgeBases
  const issues: Array<FieldIssue> = []
  if (!Array.isArray(bases)) issues.push({ path: "knowledgeBases", message: "must be an array of knowledge base names" })
  else if (bases.length > MAX_SEARCH_BASES) issues.push({ path: "knowledgeBases", message: `must name at most ${MAX_SEARCH_BASES}` })
  else for (const [i, b] of bases.entries()) issues.push(...baseIssue(`knowledgeBases.${i}`, b))
  if (typeof request.query !== "string") issues.push({ path: "query", message: "must be a string" })
  else if (request.query.length > MAX_QUERY_LENGTH)
    issues.push({ path: "query", message: `must be at most ${MAX_QUERY_LENGTH} characters` })
  const limit = request.limit ?? DEFAULT_SEARCH_LIMIT
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
    issues.push({ path: "limit", message: `must be a whole number from 1 to ${MAX_SEARCH_LIMIT}` })
  }
  return failure("knowledge search", issues)
}

/** Lower-cased words: runs of letters and digits, as PostgreSQL's parser mostly sees them. */
export const words = (text: string): Array<string> => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []

/**
 * Whether a query has anything to search for. PostgreSQL finds no lexeme in text without a letter
 * or digit either, so such a query is answered with no hits before reaching the database, which
 * would only log a notice about it.
 */
export const hasWords = (query: string): boolean => /[\p{L}\p{N}]/u.test(query)

/** The query with what PostgreSQL text cannot carry made harmless, since queries are never refused for content. */
export const cleanQuery = (query: string): string => query.toWellFormed().replaceAll("\u0000", " ")

// Marks around matched words in a snippet, in both implementations.
export const MARK_START = "**"
export const MARK_STOP = "**"
