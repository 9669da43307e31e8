import { assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import type { ValidationError } from "../Errors.ts"
import { type DocumentInput, Knowledge, type SearchRequest } from "../knowledge/Knowledge.ts"

// Bases of one run of the suite, so a store that outlives it does not mix runs.
const run = Math.random().toString(36).slice(2, 8)
const baseOf = (name: string) => `${run}-${name}`

const issuePaths = (e: ValidationError) => e.issues.map((i) => i.path)

const ids = (hits: ReadonlyArray<{ readonly knowledgeBase: string; readonly id: string }>) =>
  hits.map((h) => `${h.knowledgeBase.slice(run.length + 1)}/${h.id}`)

/** The ValidationError an effect fails with; fails the test when it succeeds or fails otherwise. */
const invalid = <A, E>(self: Effect.Effect<A, E | ValidationError>) =>
  Effect.flatMap(Effect.flip(self), (e) =>
    (e as { _tag?: string })._tag === "ValidationError" ? Effect.succeed(e as ValidationError) : Effect.die(e)
  )

/** Puts the zoo: a title match, a text match repeated, and one matching both words. */
const zoo = (k: Knowledge["Service"], base: string) =>
  Effect.forEach(
    [
      { id: "care", title: "Kangaroo care guide", text: "Feeding schedules and water for the mob." },
      { id: "notes", title: "Zoo notes", text: "The kangaroo enclosure. One kangaroo jumps; another kangaroo rests." },
      { id: "birds", title: "Birds", text: "Emu and cassowary feeding, far from the platypus pond." }
    ],
    (d) => k.put({ knowledgeBase: base, ...d }),
    { discard: true }
  )

/**
 * The behaviour every `Knowledge` layer must show, run by the memory, PGlite and PostgreSQL layers
 * alike. Each test uses knowledge bases of its own.
 */
export const knowledgeConformance = <E, R>(name: string, knowledgeLayer: Layer.Layer<Knowledge | R, E>) =>
  describe(`knowledge conformance: ${name}`, () => {
    layer(knowledgeLayer, { timeout: 120_000, excludeTestServices: true })((it) => {
      it.effect("stores, fetches, replaces and removes a document", () =>
        Effect.gen(function* () {
          const k = yield* Knowledge
          const base = baseOf("crud")
          const doc: DocumentInput = {
            knowledgeBase: base,
            id: "leave-policy",
            title: "Leave",
            text: "Annual leave is 25 days.",
            url: "https://intra.example.com/leave"
          }
          yield* k.put(doc)
          assert.deepStrictEqual(yield* k.fetch(base, "leave-policy"), doc)
          assert.isUndefined(yield* k.fetch(base, "missing"))
          assert.isUndefined(yield* k.fetch(baseOf("elsewhere"), "leave-policy"))

          yield* k.put({ knowledgeBase: base, id: "leave-policy", title: "Leave (2031)", text: "Annual holiday is 30 days." })
          assert.deepStrictEqual(yield* k.fetch(base, "leave-policy"), {
            knowledgeBase: base,
            id: "leave-policy",
            title: "Leave (2031)",
            text: "Annual holiday is 30 days."
          })
          assert.deepStrictEqual(yield* k.search({ knowledgeBases: [base], query: "leave 25" }), [])
          assert.deepStrictEqual(ids(yield* k.search({ knowledgeBases: [base], query: "holiday" })), ["crud/leave-policy"])

          assert.isTrue(yield* k.remove(base, "leave-policy"))
          assert.isFalse(yield* k.remove(base, "leave-policy"))
          assert.isUndefined(yield* k.fetch(base, "leave-policy"))
          assert.deepStrictEqual(yield* k.search({ knowledgeBases: [base], query: "holiday" }), [])
        })
      )

      it.effect("ranks a word in the title above the same word, however often, in the text", () =>
        Effect.gen(function* () {
          const k = yield* Knowledge
          const base = baseOf("rank")
          yield* zoo(k, base)
          const hits = yield* k.search({ knowledgeBases: [base], query: "kangaroo" })
          assert.deepStrictEqual(ids(hits), ["rank/care", "rank/notes"])
          assert.deepStrictEqual(hits[0], {
            knowledgeBase: base,
            id: "care",
            title: "Kangaroo care guide",
            snippet: hits[0]!.snippet
          })
          assert.include(hits[1]!.snippet, "**kangaroo**")
          assert.deepStrictEqual(ids(yield* k.search({ knowledgeBases: [base], query: "KANGAROO" })), ["rank/care", "rank/notes"])
          // Every word must occur; `or` and `-` as in a web search.
          assert.deepStrictEqual(ids(yield* k.search({ knowledgeBases: [base], query: "kangaroo feeding" })), ["rank/care"])
          assert.deepStrictEqual(ids(yield* k.search({ knowledgeBases: [base], query: "kangaroo -feeding" })), ["rank/notes"])
          assert.sameMembers(ids(yield* k.search({ knowledgeBases: [base], query: "platypus or mob" })), ["rank/birds", "rank/care"])
        })
      )

      it.effect("searches only the bases it is given, even when another base matches better", () =>
        Effect.gen(function* () {
          const k = yield* Knowledge
          const [mine, theirs] = [baseOf("mine"), baseOf("theirs")]
          yield* zoo(k, mine)
          yield* k.put({ knowledgeBase: theirs, id: "secret", title: "Kangaroo kangaroo", text: "kangaroo kangaroo payroll" })
          assert.deepStrictEqual(ids(yield* k.search({ knowledgeBases: [mine], query: "kangaroo" })), ["mine/care", "mine/notes"])
          assert.deepStrictEqual(yield* k.search({ knowledgeBases: [mine], query: "payroll" }), [])
          assert.deepStrictEqual(yield* k.search({ knowledgeBases: [], query: "kangaroo" }), [])
          assert.deepStrictEqual(ids(yield* k.search({ knowledgeBases: [theirs], query: "kangaroo" })), ["theirs/secret"])
          const both = yield* k.search({ knowledgeBases: [mine, theirs, baseOf("empty")], query: "kangaroo" })
          assert.deepStrictEqual(ids(both), ["theirs/secret", "mine/care", "mine/notes"])
        })
      )

      it.effect("finds nothing, without failing, for a query without words or with stray syntax", () =>
        Effect.gen(function* () {
          const k = yield* Knowledge
          const base = baseOf("garbage")
          yield* zoo(k, base)
          const queries = [
            "",
            "   ",
            '"a & | ! (',
            "& | ! ( ) : * ' \\ <-> <2>",
            "'));drop table x;--",
            "\u0000",
            "\ud800",
            "-",
            '""',
            "or or"
          ]
          for (const query of queries) {
            assert.deepStrictEqual(yield* k.search({ knowledgeBases: [base], query }), [], JSON.stringify(query))
          }
          assert.deepStrictEqual(ids(yield* k.search({ knowledgeBases: [base], query: "(kangaroo) & !!" })), [
            "garbage/care",
            "garbage/notes"
          ])
        })
      )

      it.effect("returns at most the limit, 10 when absent, and refuses a limit outside 1-50", () =>
        Effect.gen(function* () {
          const k = yield* Knowledge
          const base = baseOf("limits")
          yield* Effect.forEach(
            Array.from({ length: 60 }, (_, i) => i),
            (i) =>
              k.put({ knowledgeBase: base, id: `doc-${String(i).padStart(2, "0")}`, title: `Wombat ${i}`, text: "burrow ".repeat(i + 1) }),
            { discard: true, concurrency: 4 }
          )
          const search = (limit?: number) =>
            k.search({ knowledgeBases: [base], query: "wombat", ...(limit === undefined ? {} : { limit }) })
          assert.strictEqual((yield* search()).length, 10)
          assert.strictEqual((yield* search(3)).length, 3)
          assert.strictEqual((yield* search(50)).length, 50)
          // Equal ranks come in base and id order.
          assert.deepStrictEqual(
            (yield* search(3)).map((h) => h.id),
            ["doc-00", "doc-01", "doc-02"]
          )
          for (const limit of [0, 51, 1.5, -1, Number.NaN]) {
            assert.deepStrictEqual(issuePaths(yield* invalid(search(limit))), ["limit"], String(limit))
          }
        })
      )

      it.effect("takes a text of 1 MiB and searches all of it, and refuses one byte more", () =>
        Effect.gen(function* () {
          const k = yield* Knowledge
          const base = baseOf("large")
          const filler = "lorem ipsum dolor sit amet ".repeat(38_000)
          const text = `${filler}${" ".repeat(1024 * 1024 - filler.length - " needle".length)} needle`
          assert.strictEqual(Buffer.byteLength(text), 1024 * 1024)
          yield* k.put({ knowledgeBase: base, id: "big", title: "Big", text })
          assert.deepStrictEqual(ids(yield* k.search({ knowledgeBases: [base], query: "needle" })), ["large/big"])
          assert.strictEqual((yield* k.fetch(base, "big"))?.text, text)
          const tooBig = yield* invalid(k.put({ knowledgeBase: base, id: "bigger", title: "Bigger", text: `${text}!` }))
          assert.deepStrictEqual(issuePaths(tooBig), ["text"])
          // Multi-byte characters count as their UTF-8 bytes.
          const wide = yield* invalid(k.put({ knowledgeBase: base, id: "wide", title: "Wide", text: "é".repeat(512 * 1024 + 1) }))
          assert.deepStrictEqual(issuePaths(wide), ["text"])
        })
      )

      it.effect("stores a text of very many distinct words, or refuses it as input rather than failing the store", () =>
        Effect.gen(function* () {
          const k = yield* Knowledge
          const base = baseOf("distinct")
          // PostgreSQL's tsvector holds at most 1 MB, which these ~140,000 distinct words overflow.
          const text = Array.from({ length: 140_000 }, (_, i) => `w${i.toString(36)}`).join(" ")
          const stored = yield* Effect.result(k.put({ knowledgeBase: base, id: "many", title: "Many", text }))
          if (stored._tag === "Success") {
            assert.deepStrictEqual(ids(yield* k.search({ knowledgeBases: [base], query: "w2s" })), ["distinct/many"])
          } else {
            assert.strictEqual(stored.failure._tag, "ValidationError")
            assert.deepStrictEqual(issuePaths(stored.failure as ValidationError), ["text"])
            assert.isUndefined(yield* k.fetch(base, "many"))
          }
        })
      )

      it.effect("refuses malformed input, naming every bad field, and stores nothing", () =>
        Effect.gen(function* () {
          const k = yield* Knowledge
          const base = baseOf("valid")
          const ok: DocumentInput = { knowledgeBase: base, id: "ok", title: "Fine", text: "" }
          const cases: ReadonlyArray<readonly [Partial<DocumentInput>, ReadonlyArray<string>]> = [
            [{ knowledgeBase: "Not A Label" }, ["knowledgeBase"]],
            [{ knowledgeBase: "" }, ["knowledgeBase"]],
            [{ id: "" }, ["id"]],
            [{ id: "Upper" }, ["id"]],
            [{ id: "a/b" }, ["id"]],
            [{ id: "-dash" }, ["id"]],
            [{ id: "x".repeat(129) }, ["id"]],
            [{ title: "" }, ["title"]],
            [{ title: "   " }, ["title"]],
            [{ title: "t".repeat(1001) }, ["title"]],
            [{ text: "nul\u0000" }, ["text"]],
            [{ text: "broken \ud800" }, ["text"]],
            [{ text: 42 as unknown as string }, ["text"]],
            [{ url: "ftp://example.com/x" }, ["url"]],
            [{ url: "not a url" }, ["url"]],
            [{ knowledgeBase: "BAD", id: "", title: "" }, ["knowledgeBase", "id", "title"]]
          ]
          for (const [change, paths] of cases) {
            const e = yield* invalid(k.put({ ...ok, ...change }))
            assert.deepStrictEqual(issuePaths(e), paths, JSON.stringify(change))
            assert.include(e.message, paths[0]!)
          }
          assert.isUndefined(yield* k.fetch(base, "ok"))
          yield* k.put(ok)
          assert.deepStrictEqual(yield* k.fetch(base, "ok"), ok)

          assert.deepStrictEqual(issuePaths(yield* invalid(k.fetch(base, "Bad Id"))), ["id"])
          assert.deepStrictEqual(issuePaths(yield* invalid(k.remove("Bad Base", "ok"))), ["knowledgeBase"])
          const badSearch = (request: Partial<SearchRequest>) =>
            invalid(k.search({ knowledgeBases: [base], query: "fine", ...request } as SearchRequest))
          assert.deepStrictEqual(issuePaths(yield* badSearch({ knowledgeBases: [base, "Nope!"] })), ["knowledgeBases.1"])
          assert.deepStrictEqual(issuePaths(yield* badSearch({ query: 7 as unknown as string })), ["query"])
          assert.deepStrictEqual(issuePaths(yield* badSearch({ query: "q".repeat(1001) })), ["query"])
        })
      )
    })
  })
