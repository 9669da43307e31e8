import { stat } from "node:fs/promises"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeFixture } from "../api/support.ts"
import { ALL_SCOPES, cli, tempDir, writeText } from "./support.ts"

describe("clawfleet", () => {
  it.live("tenants: list, get, create, suspend, resume, open, delete; people: list, get", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const env = { CLAWFLEET_SERVER: f.origin, CLAWFLEET_TOKEN: yield* f.token("root", ALL_SCOPES) }

      const list = yield* cli(["tenants", "list"], env)
      assert.strictEqual(list.code, 0, list.stderr)
      assert.match(list.stdout.split("\n")[0]!, /^NAME\s+OWNER\s+PHASE\s+OPENCLAW/)
      assert.lengthOf(list.stdout.split("\n"), 6)

      const json = yield* cli(["tenants", "list", "--output", "json", "--owner", "mia"], env)
      const parsed = JSON.parse(json.stdout) as Array<{ name: string; spec: { owner: string } }>
      assert.deepStrictEqual(
        parsed.map((t) => t.name),
        ["mia"]
      )

      const created = yield* cli(
        ["tenants", "create", "mia-lab", "--owner", "mia", "--openclaw-version", "2026.9.7", "--cpu", "250m", "-o", "json"],
        env
      )
      assert.strictEqual(created.code, 0, created.stderr)
      assert.strictEqual(JSON.parse(created.stdout).spec.openclaw.version, "2026.9.7")

      const suspended = yield* cli(["tenants", "suspend", "mia-lab", "-o", "json"], env)
      assert.strictEqual(suspended.code, 0, suspended.stderr)
      assert.isTrue(JSON.parse(suspended.stdout).spec.suspended)
      const resumed = yield* cli(["tenants", "resume", "mia-lab", "-o", "json"], env)
      assert.isFalse(JSON.parse(resumed.stdout).spec.suspended)

      const open = yield* cli(["tenants", "open", "mia-lab"], env)
      assert.strictEqual(open.stdout, `${f.origin}/tenants/mia-lab/open`)

      const deleted = yield* cli(["tenants", "delete", "mia-lab", "-o", "json"], env)
      assert.strictEqual(deleted.code, 0, deleted.stderr)
      assert.isString(JSON.parse(deleted.stdout).deletionRequestedAt)

      const missing = yield* cli(["tenants", "get", "nobody"], env)
      assert.strictEqual(missing.code, 1)
      assert.include(missing.stderr, "NotFound")

      const people = yield* cli(["people", "list", "--team", "platform"], env)
      assert.deepStrictEqual(
        people.stdout
          .split("\n")
          .slice(1)
          .map((l) => l.split(/\s+/)[0]),
        ["mia", "tam"]
      )
      const person = yield* cli(["people", "get", "otto", "--output", "json"], env)
      assert.strictEqual(JSON.parse(person.stdout).team, "data")
      const table = yield* cli(["people", "get", "otto"], env)
      assert.include(table.stdout, "team:")
    }).pipe(Effect.scoped)
  )

  it.live("login saves the server and token (0600, under XDG_CONFIG_HOME) and later commands use them", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const token = yield* f.token("root", ALL_SCOPES)
      const config = yield* tempDir
      const login = yield* cli(["login", "--server", `${f.origin}/`, "--token", token], { XDG_CONFIG_HOME: config })
      assert.strictEqual(login.code, 0, login.stderr)
      assert.include(login.stdout, "as root (org-admin)")
      const file = path.join(config, "clawfleet", "credentials.json")
      const mode = (yield* Effect.promise(() => stat(file))).mode & 0o777
      assert.strictEqual(mode, 0o600)

      const list = yield* cli(["people", "list", "-o", "json"], { XDG_CONFIG_HOME: config })
      assert.strictEqual(list.code, 0, list.stderr)
      assert.lengthOf(JSON.parse(list.stdout), 6)

      const bad = yield* cli(["login", "--server", f.origin, "--token", "cft_nope"], { XDG_CONFIG_HOME: config })
      assert.strictEqual(bad.code, 1)
      assert.include(bad.stderr, "Unauthenticated")
    }).pipe(Effect.scoped)
  )

  it.live("usage errors exit 2: bad YAML, schema errors (path and line), unknown commands, no server", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const env = { CLAWFLEET_SERVER: f.origin, CLAWFLEET_TOKEN: yield* f.token("root", ALL_SCOPES) }
      const dir = yield* tempDir
      const file = path.join(dir, "fleet.yaml")

      yield* writeText(file, "people:\n  - id: ada\n    email: [unclosed\n")
      const yaml = yield* cli(["plan", "-f", file], env)
      assert.strictEqual(yaml.code, 2)
      assert.include(yaml.stderr, "is not valid YAML")
      assert.include(yaml.stderr, `${file}:4:1: Flow sequence in block collection must be sufficiently indented and end with a ]`)

      yield* writeText(
        file,
        [
          "teams:",
          "  - { id: platform, displayName: Platform, department: engineering }",
          "people:",
          "  - id: ada",
          "    email: not-an-email",
          "    displayName: Ada",
          "    tenant: { openclaw: { version: latest } }",
          "    colour: blue",
          ""
        ].join("\n")
      )
      const schema = yield* cli(["plan", "-f", file], env)
      assert.strictEqual(schema.code, 2)
      assert.include(schema.stderr, `${file}:5: people[0].email: must be an e-mail address`)
      assert.include(schema.stderr, `${file}:7: people[0].tenant.openclaw.version: must be a pinned OpenClaw CalVer version`)
      assert.include(schema.stderr, "people[0].colour")

      yield* writeText(file, "people:\n  - { id: ada, email: ada@example.com, displayName: Ada, team: nowhere }\n")
      const reference = yield* cli(["apply", "-f", file], env)
      assert.strictEqual(reference.code, 2)
      assert.include(reference.stderr, `${file}:2: people[0].team: team "nowhere" is neither in the file nor on the server`)

      const missingFile = yield* cli(["plan", "-f", path.join(dir, "absent.yaml")], env)
      assert.strictEqual(missingFile.code, 2)
      assert.include(missingFile.stderr, "cannot read")

      assert.strictEqual((yield* cli(["tenants", "bogus"], env)).code, 2)
      assert.strictEqual((yield* cli(["tenants", "get"], env)).code, 2)
      assert.strictEqual((yield* cli(["tenants", "get", "Not_A_Name"], env)).code, 2)
      const noServer = yield* cli(["tenants", "list"], { XDG_CONFIG_HOME: dir })
      assert.strictEqual(noServer.code, 2)
      assert.include(noServer.stderr, "no server")
    }).pipe(Effect.scoped)
  )

  it.live("an unreachable server exits 1 with a clear message", () =>
    Effect.gen(function* () {
      const result = yield* cli(["tenants", "list"], { CLAWFLEET_SERVER: "http://127.0.0.1:1", CLAWFLEET_TOKEN: "cft_x" })
      assert.strictEqual(result.code, 1)
      assert.include(result.stderr, "cannot reach the clawfleet server at http://127.0.0.1:1")
    })
  )

  it.live("prune plans offboarding and deletion of what the file does not list", () =>
    Effect.gen(function* () {
      const f = yield* makeFixture()
      const env = { CLAWFLEET_SERVER: f.origin, CLAWFLEET_TOKEN: yield* f.token("root", ALL_SCOPES) }
      const dir = yield* tempDir
      const file = path.join(dir, "fleet.yaml")
      yield* writeText(
        file,
        [
          "people:",
          "  - { id: root, email: root@example.com, displayName: root, tenant: false }",
          "  - { id: mia, email: mia@example.com, displayName: mia, team: platform }",
          ""
        ].join("\n")
      )
      const plan = yield* cli(["plan", "-f", file, "--prune", "-o", "json"], env)
      assert.strictEqual(plan.code, 0, plan.stderr)
      const texts = (JSON.parse(plan.stdout).changes as Array<{ text: string }>).map((c) => c.text)
      assert.includeMembers(texts, ["- tenant root (owner root)", "- tenant otto (owner otto)", "- person nemo (offboard)"])
      assert.notInclude(texts.join("\n"), "mia")
      const apply = yield* cli(["apply", "-f", file, "--prune"], env)
      assert.strictEqual(apply.code, 0, apply.stderr)
      const again = yield* cli(["plan", "-f", file, "--prune", "--detailed-exitcode"], env)
      assert.strictEqual(again.code, 0, again.stdout)
    }).pipe(Effect.scoped)
  )
})
