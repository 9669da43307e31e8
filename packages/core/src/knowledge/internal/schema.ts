// Kept with the knowledge store it serves; src/store/Migrations.ts runs it as migration 7.

const q = (schema: string, name: string) => `"${schema}"."${name}"`

// The documents of src/knowledge/internal/sql.ts. The 'simple' configuration lower-cases words
// and neither stems nor drops stop words, so any language is searched alike and a query finds
// the words as written. The title is weighted A and the text B, so a word in the title outranks
// the same word in the text. Ids compare bytewise, so ties come out in the order the memory
// store uses.
export const knowledgeDdl = (schema: string): ReadonlyArray<string> => {
  const documents = q(schema, "knowledge_documents")
  return [
    `create table ${documents} (
      knowledge_base text collate "C" not null,
      id text collate "C" not null,
      title text not null,
      text text not null,
      url text,
      tsv tsvector generated always as (
        setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', text), 'B')
      ) stored,
      primary key (knowledge_base, id)
    )`,
    `create index knowledge_documents_tsv on ${documents} using gin (tsv)`
  ]
}
