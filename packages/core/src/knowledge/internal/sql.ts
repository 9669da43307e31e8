import { Effect } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { type StoreError, ValidationError } from "../../Errors.ts"
import { migrated } from "../../store/Migrations.ts"
import { fromSql } from "../../store/sqlErrors.ts"
import type { Knowledge, KnowledgeDocument, SearchHit } from "../Knowledge.ts"
import { addressError, cleanQuery, DEFAULT_SEARCH_LIMIT, documentError, hasWords, MARK_START, MARK_STOP, searchError } from "./rules.ts"

interface DocumentRow {
  readonly knowledge_base: string
  readonly id: string
  readonly title: string
  readonly text: string
  readonly url: string | null
}

interface HitRow {
  readonly knowledge_base: string
  readonly id: string
  readonly title: string
  readonly url: string | null
  readonly snippet: string
}

// One fragment or two of about thirty words, like the memory store's snippet.
const HEADLINE = `StartSel="${MARK_START}", StopSel="${MARK_STOP}", MaxWords=30, MinWords=10, MaxFragments=2, FragmentDelimiter=" … "`

/**
 * A tsvector holds at most 1 MB, so a text within the 1 MiB limit but of very many distinct
 * words cannot be indexed: PostgreSQL says so with a program-limit error, which is the input's
 * fault and not the store's.
 */
const putError = (e: SqlError.SqlError): StoreError | ValidationError => {
  const cause = (e.reason as { cause?: unknown }).cause
  if ((cause as { code?: unknown } | undefined)?.code === "54000") {
    const message = "has too many distinct words to index; split it into several documents"
    return new ValidationError({ subject: "knowledge document", issues: [{ path: "text", message }] })
  }
  return fromSql(e)
}

// Base names are DNS labels (checked before), so quoting each is all an array literal needs;
// quoted, a base named `null` stays a name.
const textArray = (names: ReadonlyArray<string>) => `{${names.map((n) => `"${n}"`).join(",")}}`

/**
 * Knowledge over any PostgreSQL `SqlClient`, searched with PostgreSQL full-text search: the
 * tsvector of migration 7 is kept by the database itself, so every write is one statement.
 */
export const makeSqlKnowledge = (options: { readonly schema?: string | undefined } = {}) =>
  Effect.gen(function* () {
    const schema = yield* migrated(options.schema)
    const sql = yield* SqlClient.SqlClient
    const documents = sql.literal(`"${schema}".knowledge_documents`)

    const service: Knowledge["Service"] = {
      put: (input) => {
        const invalid = documentError(input)
        if (invalid) return Effect.fail(invalid)
        return sql`insert into ${documents} (knowledge_base, id, title, text, url)
            values (${input.knowledgeBase}, ${input.id}, ${input.title}, ${input.text}, ${input.url ?? null})
            on conflict (knowledge_base, id) do update set title = excluded.title, text = excluded.text, url = excluded.url`.pipe(
          Effect.asVoid,
          Effect.mapError(putError)
        )
      },

      remove: (knowledgeBase, id) => {
        const invalid = addressError(knowledgeBase, id)
        if (invalid) return Effect.fail(invalid)
        return sql`delete from ${documents} where knowledge_base = ${knowledgeBase} and id = ${id} returning id`.pipe(
          Effect.map((rows) => rows.length > 0),
          Effect.mapError(fromSql)
        )
      },

      fetch: (knowledgeBase, id) => {
        const invalid = addressError(knowledgeBase, id)
        if (invalid) return Effect.fail(invalid)
        return sql<DocumentRow>`select knowledge_base, id, title, text, url from ${documents}
            where knowledge_base = ${knowledgeBase} and id = ${id}`.pipe(
          Effect.map(([row]): KnowledgeDocument | undefined =>
            row === undefined
              ? undefined
              : {
                  knowledgeBase: row.knowledge_base,
                  id: row.id,
                  title: row.title,
                  text: row.text,
                  ...(row.url === null ? {} : { url: row.url })
                }
          ),
          Effect.mapError(fromSql)
        )
      },

      // websearch_to_tsquery reads any text without a syntax error, so a user's query goes in as
      // typed. Ranked and cut first, so ts_headline (which parses the whole text) runs only for
      // the hits returned.
      search: (request) => {
        const invalid = searchError(request)
        if (invalid) return Effect.fail(invalid)
        const query = cleanQuery(request.query)
        if (request.knowledgeBases.length === 0 || !hasWords(query)) return Effect.succeed([])
        const limit = request.limit ?? DEFAULT_SEARCH_LIMIT
        return sql<HitRow>`select knowledge_base, id, title, url, ts_headline('simple', text, q, ${HEADLINE}) as snippet
            from (
              select d.knowledge_base, d.id, d.title, d.url, d.text, q, ts_rank(d.tsv, q) as rank
              from ${documents} d, websearch_to_tsquery('simple', ${query}) as q
              where d.knowledge_base = any(${textArray(request.knowledgeBases)}::text[]) and d.tsv @@ q
              order by rank desc, d.knowledge_base, d.id
              limit ${limit}
            ) top
            order by rank desc, knowledge_base, id`.pipe(
          Effect.map((rows) =>
            rows.map(
              (r): SearchHit => ({
                knowledgeBase: r.knowledge_base,
                id: r.id,
                title: r.title,
                ...(r.url === null ? {} : { url: r.url }),
                // ts_headline keeps the text's own line breaks; a snippet is one line.
                snippet: r.snippet.replace(/\s+/g, " ").trim()
              })
            )
          ),
          Effect.mapError(fromSql)
        )
      }
    }
    return service
  })
