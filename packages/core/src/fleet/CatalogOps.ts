import { Effect, type Schema } from "effect"
import type { Catalog } from "../Catalog.ts"
import { EgressDomain, KnowledgeBase, Model, Skill, Tool } from "../domain/Catalog.ts"
import type { ResourceKind } from "../domain/Grant.ts"
import type { PageRequest } from "../store/Repository.ts"
import { decode } from "./internal.ts"

const schemas = { skill: Skill, tool: Tool, knowledge: KnowledgeBase, egress: EgressDomain, model: Model } as const

export type CatalogItem<K extends ResourceKind> = (typeof schemas)[K]["Type"]
export type CatalogItemInput<K extends ResourceKind> = (typeof schemas)[K]["Encoded"]

/** The catalog use cases of `Fleet`: what can be granted, one kind at a time. */
export const makeCatalogOps = (catalog: Catalog["Service"]) => {
  const repoOf = (kind: ResourceKind) => {
    switch (kind) {
      case "skill":
        return catalog.skills
      case "tool":
        return catalog.tools
      case "knowledge":
        return catalog.knowledgeBases
      case "egress":
        return catalog.egressDomains
      case "model":
        return catalog.models
    }
  }
  // The five repositories differ only in their item type; this is the one place that forgets it.
  const repo = (kind: ResourceKind) => repoOf(kind) as unknown as (typeof catalog)["models"]

  return {
    /** Adds the item, or replaces the one of the same name. */
    putCatalogItem: Effect.fn("Fleet.putCatalogItem")(function* <K extends ResourceKind>(kind: K, input: CatalogItemInput<K>) {
      const item = (yield* decode(schemas[kind] as Schema.Codec<any, any, never, never>, kind)(input)) as Model
      const r = repo(kind)
      const existing = yield* r.find(item.name)
      const action = `catalog.${kind}.put`
      return (existing ? yield* r.update(item, existing.version, { action }) : yield* r.create(item, { action })).value as CatalogItem<K>
    }),

    removeCatalogItem: Effect.fn("Fleet.removeCatalogItem")(function* (kind: ResourceKind, name: string) {
      const r = repo(kind)
      const existing = yield* r.get(name)
      yield* r.remove(name, existing.version)
    }),

    listCatalog: Effect.fn("Fleet.listCatalog")(function* <K extends ResourceKind>(kind: K, page?: PageRequest) {
      const result = yield* repo(kind).list(page)
      return { items: result.items.map((i) => i.value as CatalogItem<K>), next: result.next }
    })
  }
}
