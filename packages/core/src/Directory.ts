import { Context, Effect, Layer } from "effect"
import { Department, Person, Team } from "./domain/Directory.ts"
import { makeRepository, type Repository } from "./store/Repository.ts"

/** People, teams and departments: the org graph grants are resolved against. */
export class Directory extends Context.Service<
  Directory,
  {
    readonly people: Repository<Person, "people">
    readonly teams: Repository<Team, "teams">
    readonly departments: Repository<Department, "departments">
  }
>()("@clawfleet/core/Directory") {
  /** Built on whichever `RecordStore` is provided. */
  static readonly layer = Layer.effect(
    Directory,
    Effect.gen(function* () {
      return Directory.of({
        people: yield* makeRepository("people", Person, (p) => p.id),
        teams: yield* makeRepository("teams", Team, (t) => t.id),
        departments: yield* makeRepository("departments", Department, (d) => d.id)
      })
    })
  )
}
