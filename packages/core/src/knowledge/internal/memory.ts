import { Effect } from "effect"
import type { Knowledge, KnowledgeDocument, SearchHit } from "../Knowledge.ts"
import { addressError, cleanQuery, DEFAULT_SEARCH_LIMIT, documentError, MARK_START, MARK_STOP, searchError, words } from "./rules.ts"

interface Entry {
  readonly document: KnowledgeDocument
  readonly title: ReadonlyMap<string, number>
  readonly text: ReadonlyMap<string, number>
}

/** Alternatives of a query (`or`); a document matches one when it has every word and none of an excluded group. */
interface Alternative {
  readonly include: ReadonlyArray<string>
  readonly exclude: ReadonlyArray<ReadonlyArray<string>>
}

const counts = (text: string): Map<string, number> => {
  const out = new Map<string, number>()
  for (const w of words(text)) out.set(w, (out.get(w) ?? 0) + 1)
  return out
}

/**
 * The web-search syntax PostgreSQL's `websearch_to_tsquery` reads, loosely: words must all occur,
 * a quoted phrase counts as its words (not checked for adjacency), `or` separates alternatives and
 * a leading `-` excludes. Words are runs of letters and digits, whereas PostgreSQL keeps some
 * tokens whole (host names such as `example.com`, e-mail addresses), so the two can differ there.
 */
const parse = (query: string): ReadonlyArray<Alternative> => {
  const alternatives: Array<Alternative> = []
  let include: Array<string> = []
  let exclude: Array<Array<string>> = []
  const close = () => {
    if (include.length > 0 || exclude.length > 0) alternatives.push({ include, exclude })
    include = []
    exclude = []
  }
  for (const [chunk] of query.matchAll(/-?"[^"]*"?|\S+/g)) {
    if (chunk.toLowerCase() === "or") {
      close()
      continue
    }
    const found = words(chunk)
    if (found.length === 0) continue
    if (chunk.startsWith("-")) exclude.push(found)
    else include.push(...found)
  }
  close()
  return alternatives
}

// As PostgreSQL's ts_rank weighs one word: its occurrences by weight, best first, each worth less
// than the one before (1, 1/4, 1/9, ...), so a word in the title (weight 1) outranks any number
// of occurrences in the text (weight 0.4).
const TITLE_WEIGHT = 1
const TEXT_WEIGHT = 0.4
const MAX_OCCURRENCES = 256
const wordRank = (inTitle: number, inText: number): number => {
  let rank = 0
  const n = Math.min(inTitle + inText, MAX_OCCURRENCES)
  for (let j = 0; j < n; j++) rank += (j < inTitle ? TITLE_WEIGHT : TEXT_WEIGHT) / ((j + 1) * (j + 1))
  return rank / 1.64493406685
}

const rankOf = (entry: Entry, alternatives: ReadonlyArray<Alternative>): number | undefined => {
  let best: number | undefined
  for (const alt of alternatives) {
    const has = (w: string) => entry.title.has(w) || entry.text.has(w)
    if (!alt.include.every(has) || alt.exclude.some((group) => group.every(has))) continue
    const rank = alt.include.reduce((sum, w) => sum + wordRank(entry.title.get(w) ?? 0, entry.text.get(w) ?? 0), 0)
    if (best === undefined || rank > best) best = rank
  }
  return best
}

const SNIPPET_WORDS = 30
const WORDS_BEFORE = 5

/** About thirty words of the text from just before the first match, matched words marked. */
const snippetOf = (text: string, wanted: ReadonlySet<string>): string => {
  const spans = [...text.matchAll(/[\p{L}\p{N}]+/gu)]
  if (spans.length === 0) return ""
  const first = spans.findIndex((m) => wanted.has(m[0].toLowerCase()))
  const start = first <= WORDS_BEFORE ? 0 : first - WORDS_BEFORE
  const shown = spans.slice(start, start + SNIPPET_WORDS)
  let out = ""
  let at = shown[0]!.index
  for (const m of shown) {
    out += text.slice(at, m.index)
    out += wanted.has(m[0].toLowerCase()) ? `${MARK_START}${m[0]}${MARK_STOP}` : m[0]
    at = m.index + m[0].length
  }
  return out.replace(/\s+/g, " ").trim()
}

// Bytewise, as the SQL columns collate ("C").
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

interface Ranked {
  readonly rank: number
  readonly entry: Entry
}

const byRank = (a: Ranked, b: Ranked) =>
  b.rank - a.rank ||
  compare(a.entry.document.knowledgeBase, b.entry.document.knowledgeBase) ||
  compare(a.entry.document.id, b.entry.document.id)

/**
 * Knowledge in process memory: word counts per document, worked out when it is stored, and a
 * scan of the requested bases per search. Every operation is one synchronous step.
 */
export const makeMemoryKnowledge: Effect.Effect<Knowledge["Service"]> = Effect.sync(() => {
  const bases = new Map<string, Map<string, Entry>>()

  const service: Knowledge["Service"] = {
    put: (input) =>
      Effect.suspend(() => {
        const invalid = documentError(input)
        if (invalid) return Effect.fail(invalid)
        const document: KnowledgeDocument = {
          knowledgeBase: input.knowledgeBase,
          id: input.id,
          title: input.title,
          text: input.text,
          ...(input.url === undefined ? {} : { url: input.url })
        }
        let base = bases.get(document.knowledgeBase)
        if (base === undefined) bases.set(document.knowledgeBase, (base = new Map()))
        base.set(document.id, { document, title: counts(document.title), text: counts(document.text) })
        return Effect.void
      }),

    remove: (knowledgeBase, id) =>
      Effect.suspend(() => {
        const invalid = addressError(knowledgeBase, id)
        return invalid ? Effect.fail(invalid) : Effect.succeed(bases.get(knowledgeBase)?.delete(id) ?? false)
      }),

    fetch: (knowledgeBase, id) =>
      Effect.suspend(() => {
        const invalid = addressError(knowledgeBase, id)
        return invalid ? Effect.fail(invalid) : Effect.succeed(bases.get(knowledgeBase)?.get(id)?.document)
      }),

    search: (request) =>
      Effect.suspend(() => {
        const invalid = searchError(request)
        if (invalid) return Effect.fail(invalid)
        const alternatives = parse(cleanQuery(request.query))
        if (alternatives.length === 0) return Effect.succeed([])
        const ranked: Array<Ranked> = []
        for (const name of new Set(request.knowledgeBases)) {
          for (const entry of bases.get(name)?.values() ?? []) {
            const rank = rankOf(entry, alternatives)
            if (rank !== undefined) ranked.push({ rank, entry })
          }
        }
        const wanted = new Set(alternatives.flatMap((a) => a.include))
        return Effect.succeed(
          ranked
            .sort(byRank)
            .slice(0, request.limit ?? DEFAULT_SEARCH_LIMIT)
            .map(
              ({ entry: { document: d } }): SearchHit => ({
                knowledgeBase: d.knowledgeBase,
                id: d.id,
                title: d.title,
                ...(d.url === undefined ? {} : { url: d.url }),
                snippet: snippetOf(d.text, wanted)
              })
            )
        )
      })
  }
  return service
})
