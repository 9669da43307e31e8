import {
  Catalog,
  EgressDomain,
  Fleet,
  KnowledgeBase,
  Model,
  RecordStore,
  type ResourceKind,
  Skill,
  SkillBundles,
  Tool,
  type Versioned
} from "@clawfleet/core"
import { Effect, Option, Schema } from "effect"
import { HttpApiBuilder, HttpApiSchema } from "effect/http-api"
import { ClawfleetApi } from "../Api.ts"
import { checkIfMatch, etagOf } from "../ETag.ts"
import { storePage, values } from "../Paging.ts"
import { InvalidRequest, NotFound, orPreconditionProblem, orProblem, PreconditionFailed } from "../Problems.ts"

const kinds = {
  model: { schema: Model, table: "models" },
  tool: { schema: Tool, table: "tools" },
  egress: { schema: EgressDomain, table: "egress_domains" },
  knowledge: { schema: KnowledgeBase, table: "knowledge_bases" },
  skill: { schema: Skill, table: "skills" }
} as const

/** The four operations of one catalog collection, over `Fleet`'s catalog use cases. */
const collection = Effect.fnUntraced(function* <K extends ResourceKind>(kind: K) {
  const fleet = yield* Fleet
  const store = yield* RecordStore
  const catalog = yield* Catalog
  const { schema, table } = kinds[kind]
  const encode = Schema.encodeSync(schema as unknown as Schema.Codec<unknown, unknown>)
  const repo = {
    model: catalog.models,
    tool: catalog.tools,
    egress: catalog.egressDomains,
    knowledge: catalog.knowledgeBases,
    skill: catalog.skills
  }[kind] as unknown as Pick<(typeof catalog)["models"], "get" | "find">
  type Item = (typeof kinds)[K]["schema"]["Type"]

  const withETag = (v: Versioned<unknown>) => HttpApiSchema.withHeaders({ body: v.value as Item, headers: { etag: etagOf(v.version) } })

  // If-Match on a change: the item must exist at that ETag (`*`: exist at all).
  const precondition = (name: string, ifMatch: string | undefined) =>
    ifMatch === undefined
      ? Effect.void
      : Effect.flatMap(repo.find(name), (found) =>
          found === undefined
            ? Effect.fail(new PreconditionFailed({ detail: `there is no ${kind} "${name}" to match If-Match against` }))
            : checkIfMatch(ifMatch, found.version)
        )

  return {
    list: ({ query }: { readonly query: { readonly after?: string; readonly limit?: number } }) =>
      Effect.map(storePage(store, table, schema as unknown as Schema.Codec<Item, unknown>, query), values).pipe(orProblem),
    get: ({ params }: { readonly params: { readonly name: string } }) => Effect.map(repo.get(params.name), withETag).pipe(orProblem),
    put: ({
      params,
      headers,
      payload
    }: {
      readonly params: { readonly name: string }
      readonly headers: { readonly "if-match"?: string }
      readonly payload: Item
    }) =>
      Effect.gen(function* () {
        if ((payload as { readonly name: string }).name !== params.name) {
          return yield* new InvalidRequest({
            detail: `the body names "${(payload as { readonly name: string }).name}" but the path "${params.name}"`,
            errors: [{ path: "body.name", message: "must be the name in the path" }]
          })
        }
        return yield* store.transaction(
          Effect.gen(function* () {
            yield* precondition(params.name, headers["if-match"])
            yield* fleet.putCatalogItem(kind, encode(payload) as never)
            return withETag(yield* repo.get(params.name))
          })
        )
      }).pipe(orPreconditionProblem),
    delete: ({ params, headers }: { readonly params: { readonly name: string }; readonly headers: { readonly "if-match"?: string } }) =>
      store
        .transaction(Effect.andThen(precondition(params.name, headers["if-match"]), fleet.removeCatalogItem(kind, params.name)))
        .pipe(orPreconditionProblem)
  }
})

export const ModelsHandlers = HttpApiBuilder.group(
  ClawfleetApi,
  "models",
  Effect.fn(function* (handlers) {
    return handlers.handleAll(yield* collection("model"))
  })
)

export const ToolsHandlers = HttpApiBuilder.group(
  ClawfleetApi,
  "tools",
  Effect.fn(function* (handlers) {
    return handlers.handleAll(yield* collection("tool"))
  })
)

export const EgressDomainsHandlers = HttpApiBuilder.group(
  ClawfleetApi,
  "egressDomains",
  Effect.fn(function* (handlers) {
    return handlers.handleAll(yield* collection("egress"))
  })
)

export const KnowledgeBasesHandlers = HttpApiBuilder.group(
  ClawfleetApi,
  "knowledgeBases",
  Effect.fn(function* (handlers) {
    return handlers.handleAll(yield* collection("knowledge"))
  })
)

export const SkillsHandlers = HttpApiBuilder.group(
  ClawfleetApi,
  "skills",
  Effect.fn(function* (handlers) {
    // Optional, so an embedding without skill bundles still serves the rest of the API.
    const bundles = Option.getOrUndefined(yield* Effect.serviceOption(SkillBundles))
    const noBundles = new NotFound({ detail: "this server keeps no skill bundles" })
    return handlers.handleAll({
      ...(yield* collection("skill")),
      putBundle: ({ payload }) => {
        if (bundles === undefined) return Effect.fail(noBundles)
        const bytes = "bytes" in payload ? (payload as { readonly bytes: Uint8Array }).bytes : (payload as Uint8Array)
        return Effect.map(bundles.put(bytes), (digest) => ({ digest })).pipe(orProblem)
      },
      getBundle: ({ params }) =>
        bundles === undefined
          ? Effect.fail(noBundles)
          : Effect.flatMap(bundles.get(params.digest), (bytes) =>
              bytes === undefined
                ? Effect.fail(new NotFound({ detail: `no skill bundle has the digest ${params.digest}` }))
                : Effect.succeed(bytes)
            ).pipe(orProblem)
    })
  })
)
