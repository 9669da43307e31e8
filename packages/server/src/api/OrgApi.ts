import { Department, DnsLabel, Team } from "@clawfleet/core"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { idempotencyHeader } from "./Idempotency.ts"
import { Page, pageQuery } from "./Paging.ts"
import { commonProblems, IdempotencyKeyReused } from "./Problems.ts"
import { Scopes } from "./Roles.ts"
import { access, admins, orgAdmins } from "./Security.ts"

/** `/teams`: only org administrators shape the organisation; team administrators may read it. */
export class TeamsApi extends HttpApiGroup.make("teams")
  .add(
    HttpApiEndpoint.get("list", "/teams", {
      query: { ...pageQuery, department: Schema.optionalKey(DnsLabel) },
      success: Page(Team),
      error: commonProblems
    }).pipe(access(admins, Scopes.orgRead)),
    HttpApiEndpoint.post("create", "/teams", {
      headers: idempotencyHeader,
      payload: Team,
      success: Team.pipe(HttpApiSchema.status(201)),
      error: [...commonProblems, IdempotencyKeyReused]
    }).pipe(access(orgAdmins, Scopes.orgWrite))
  )
  .annotateMerge(OpenApi.annotations({ description: "Teams; each belongs to one department." })) {}

/** `/departments`. */
export class DepartmentsApi extends HttpApiGroup.make("departments")
  .add(
    HttpApiEndpoint.get("list", "/departments", { query: pageQuery, success: Page(Department), error: commonProblems }).pipe(
      access(admins, Scopes.orgRead)
    ),
    HttpApiEndpoint.post("create", "/departments", {
      headers: idempotencyHeader,
      payload: Department,
      success: Department.pipe(HttpApiSchema.status(201)),
      error: [...commonProblems, IdempotencyKeyReused]
    }).pipe(access(orgAdmins, Scopes.orgWrite))
  )
  .annotateMerge(OpenApi.annotations({ description: "Departments of the organisation." })) {}
