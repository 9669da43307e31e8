import { HttpApi, OpenApi } from "effect/http-api"
import { EgressDomainsApi, KnowledgeBasesApi, ModelsApi, SkillsApi, ToolsApi } from "./CatalogApi.ts"
import { GrantsApi } from "./GrantsApi.ts"
import { MeApi } from "./MeApi.ts"
import { DepartmentsApi, TeamsApi } from "./OrgApi.ts"
import { PeopleApi } from "./PeopleApi.ts"
import { Authorization, ProblemResponses } from "./Security.ts"
import { TenantsApi } from "./TenantsApi.ts"
import { TokensApi } from "./TokensApi.ts"
import { AuditApi, UsageApi } from "./UsageApi.ts"

/** Where the API is served; a breaking change gets a new version beside it. */
export const API_PREFIX = "/api/v1"
export const OPENAPI_PATH = "/openapi.json"

/**
 * The clawfleet REST API, schema first: requests are validated, the typed client is derived and
 * `GET /openapi.json` is generated from this one definition. Every operation passes through
 * `Authorization` (401/403) inside `ProblemResponses` (400 for a request that fails its schema).
 * Bodies and queries are strict: an unknown member is an error, not silently dropped.
 */
export class ClawfleetApi extends HttpApi.make("clawfleet")
  .add(MeApi)
  .add(PeopleApi)
  .add(TeamsApi)
  .add(DepartmentsApi)
  .add(TenantsApi)
  .add(GrantsApi)
  .add(ModelsApi)
  .add(ToolsApi)
  .add(EgressDomainsApi)
  .add(KnowledgeBasesApi)
  .add(SkillsApi)
  .add(UsageApi)
  .add(AuditApi)
  .add(TokensApi)
  .prefix(API_PREFIX)
  .middleware(Authorization)
  .middleware(ProblemResponses)
  .annotate(HttpApi.PayloadParseOptions, { onExcessProperty: "error", errors: "all" })
  .annotate(HttpApi.QueryParseOptions, { onExcessProperty: "error", errors: "all" })
  .annotate(HttpApi.HeadersParseOptions, { errors: "all" })
  .annotateMerge(
    OpenApi.annotations({
      title: "clawfleet",
      version: "1",
      description:
        "Give every person in an organisation their own OpenClaw assistant. Errors are RFC 9457 problems " +
        "(`application/problem+json`); lists page by id with `?after=` and `?limit=`; changes to one record " +
        "take `If-Match`; creates take `Idempotency-Key`. Each operation's `x-clawfleet-access` names the roles " +
        "that may call it and the scope an API token needs."
    })
  ) {}
