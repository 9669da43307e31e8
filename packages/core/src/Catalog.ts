import { Context, Effect, Layer } from "effect"
import { EgressDomain, KnowledgeBase, Model, Skill, Tool } from "./domain/Catalog.ts"
import { makeRepository, type Repository } from "./store/Repository.ts"

/** What can be granted: skills, MCP tools, knowledge bases, egress domains and models. */
export class Catalog extends Context.Service<
  Catalog,
  {
    readonly skills: Repository<Skill, "skills">
    readonly tools: Repository<Tool, "tools">
    readonly knowledgeBases: Repository<KnowledgeBase, "knowledge_bases">
    readonly egressDomains: Repository<EgressDomain, "egress_domains">
    readonly models: Repository<Model, "models">
  }
>()("@clawfleet/core/Catalog") {
  static readonly layer = Layer.effect(
    Catalog,
    Effect.gen(function* () {
      return Catalog.of({
        skills: yield* makeRepository("skills", Skill, (s) => s.name),
        tools: yield* makeRepository("tools", Tool, (t) => t.name),
        knowledgeBases: yield* makeRepository("knowledge_bases", KnowledgeBase, (k) => k.name),
        egressDomains: yield* makeRepository("egress_domains", EgressDomain, (d) => d.name),
        models: yield* makeRepository("models", Model, (m) => m.name)
      })
    })
  )
}
