import { createHash } from "node:crypto"
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { RecordStore, Store, withActor } from "@clawfleet/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import {
  BUNDLE_FORMAT,
  bundleDigest,
  MARKER_FILE,
  MAX_BUNDLE_BYTES,
  MAX_CONTENT_BYTES,
  MAX_FILES,
  packBundle,
  type SkillFile,
  unpackBundle
} from "../src/skills/bundle.ts"
import { readSkillDirectory } from "../src/skills/directory.ts"
import { installSkill } from "../src/skills/install.ts"
import { SkillBundles } from "../src/skills/SkillBundles.ts"

const layer = SkillBundles.layer.pipe(Layer.provideMerge(Layer.fresh(Store.layerMemory)))

/** Bundle bytes written by hand, in the canonical spelling, so rules `pack` enforces can be broken. */
const raw = (files: ReadonlyArray<{ path: string; mode?: number; content?: string }>) =>
  Buffer.from(
    JSON.stringify({
      format: BUNDLE_FORMAT,
      files: files.map((f) => ({ path: f.path, mode: f.mode ?? 420, content: Buffer.from(f.content ?? "x").toString("base64") }))
    })
  )

const sha = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`
const skill = { path: "SKILL.md", content: "# Weather\nAsk about the weather.\n" }

const refused = <E>(effect: Effect.Effect<unknown, E>) =>
  Effect.map(Effect.flip(effect), (e) => (e as { _tag: string; message: string }).message)

const badPaths: ReadonlyArray<readonly [string, RegExp]> = [
  ["/etc/passwd", /relative/],
  ["../escape", /'\.\.'/],
  ["a/../../escape", /'\.\.'/],
  ["./SKILL2.md", /'\.'/],
  ["a//b", /empty segment/],
  ["dir/", /empty segment/],
  ["", /empty/],
  ["a\\b", /backslash/],
  ["C:\\Windows", /backslash/],
  ["nul\u0000byte", /control/],
  ["new\nline", /control/],
  ["broken\ud800", /well-formed/],
  [MARKER_FILE, /installer/],
  [`${"a".repeat(256)}`, /segments of at most 255/],
  [Array.from({ length: 6 }, () => "b".repeat(200)).join("/"), /at most 1024 bytes/]
]

describe("skill bundles", () => {
  it.effect("packs the same files to the same bytes in any order, and stores and serves them by digest", () =>
    Effect.gen(function* () {
      const bundles = yield* SkillBundles
      const files = [
        { path: "scripts/run.sh", content: "#!/bin/sh\necho hi\n", mode: 0o775 },
        skill,
        { path: "data/table.bin", content: new Uint8Array([0, 255, 1, 254]) }
      ]
      const bytes = yield* bundles.pack(files)
      assert.deepStrictEqual(yield* bundles.pack([...files].reverse()), bytes)
      const doc = JSON.parse(Buffer.from(bytes).toString("utf8"))
      assert.strictEqual(doc.format, BUNDLE_FORMAT)
      assert.deepStrictEqual(
        doc.files.map((f: { path: string; mode: number }) => [f.path, f.mode]),
        [
          ["SKILL.md", 420],
          ["data/table.bin", 420],
          ["scripts/run.sh", 493]
        ]
      )

      const digest = yield* bundles.put(bytes)
      assert.strictEqual(digest, sha(bytes))
      assert.strictEqual(yield* bundles.put(bytes), digest, "putting it again is a no-op")
      assert.deepStrictEqual(Buffer.from((yield* bundles.get(digest))!), Buffer.from(bytes))
      assert.isUndefined(yield* bundles.get(sha(Buffer.from("nothing"))))
      assert.isUndefined(yield* bundles.get("not-a-digest"))

      // One audit event, naming the bundle without copying its bytes into the log.
      const events = (yield* (yield* RecordStore).listAudit(0, 100)).filter((e) => e.action === "skill-bundle.put")
      assert.strictEqual(events.length, 1)
      assert.strictEqual(events[0]!.actor, "admin@example.com")
      assert.deepStrictEqual(events[0]!.after, { digest, size: bytes.byteLength, files: 3 })
    }).pipe(withActor("admin@example.com"), Effect.provide(layer))
  )

  it("spells a bundle one way only, so its digest is stable across implementations", () => {
    const bytes = packBundle([{ path: "SKILL.md", content: "hi" }])
    assert.isTrue(Result.isSuccess(bytes))
    const expected = '{"format":"clawfleet-skill/1","files":[{"path":"SKILL.md","mode":420,"content":"aGk="}]}'
    assert.strictEqual(Buffer.from((bytes as Result.Success<Uint8Array, never>).success).toString("utf8"), expected)
    assert.strictEqual(bundleDigest(Buffer.from(expected)), "sha256:bad1e794885da7649ebefcb75b42bb7e9e7b8aa45d11b112188e16379f0c5bed")
    // Paths sort by UTF-8 bytes, not by UTF-16 units: "\uff5e" (3 bytes) before "\u{1f600}" (4 bytes).
    const order = packBundle([skill, { path: "\u{1f600}" }, { path: "\uff5e" }].map((f) => ({ content: "x", ...f })))
    const paths = JSON.parse(Buffer.from((order as Result.Success<Uint8Array, never>).success).toString()).files.map(
      (f: { path: string }) => f.path
    )
    assert.deepStrictEqual(paths, ["SKILL.md", "\uff5e", "\u{1f600}"])
  })

  it.effect("refuses every unsafe path, at pack and at put", () =>
    Effect.gen(function* () {
      const bundles = yield* SkillBundles
      for (const [path, why] of badPaths) {
        assert.match(yield* refused(bundles.pack([skill, { path, content: "x" }])), why, JSON.stringify(path))
        assert.match(yield* refused(bundles.put(raw([skill, { path }].sort(byBytes)))), why, JSON.stringify(path))
        const unpacked = unpackBundle(raw([skill, { path }].sort(byBytes)))
        assert.isTrue(Result.isFailure(unpacked), JSON.stringify(path))
      }
      assert.match(yield* refused(bundles.pack([skill, skill])), /appears twice/)
      assert.match(yield* refused(bundles.pack([skill, { path: "a", content: "" }, { path: "a/b", content: "" }])), /"a" is a file/)
      assert.match(yield* refused(bundles.pack([{ path: "README.md", content: "" }])), /SKILL\.md/)
      assert.match(yield* refused(bundles.pack([{ path: "sub/SKILL.md", content: "" }])), /SKILL\.md/)
      // Nothing refused was stored.
      assert.strictEqual((yield* (yield* RecordStore).list("skill_bundles", { limit: 10 })).length, 0)
    }).pipe(Effect.provide(layer))
  )

  it.effect("refuses anything but the canonical spelling, and modes other than 0644 and 0755", () =>
    Effect.gen(function* () {
      const bundles = yield* SkillBundles
      const good = raw([skill])
      const text = good.toString("utf8")
      const variants: ReadonlyArray<readonly [string, Uint8Array, RegExp]> = [
        ["pretty", Buffer.from(JSON.stringify(JSON.parse(text), null, 2)), /canonical/],
        ["newline", Buffer.from(`${text}\n`), /canonical/],
        ["BOM", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), good]), /canonical/],
        ["extra key", Buffer.from(text.replace('"files"', '"extra":1,"files"')), /canonical/],
        ["key order", Buffer.from(text.replace(/"mode":420,"content":("[^"]*")/, '"content":$1,"mode":420')), /canonical/],
        [
          "unpadded",
          Buffer.from(
            raw([{ path: "SKILL.md", content: "hi" }])
              .toString()
              .replace("aGk=", "aGk")
          ),
          /canonical/
        ],
        ["unsorted", raw([{ path: "b" }, skill]), /sorted/],
        ["duplicate", raw([skill, skill]), /twice/],
        ["mode 0777", raw([{ ...skill, mode: 0o777 }]), /420/],
        ["setuid", raw([{ ...skill, mode: 0o4755 }]), /420/],
        ["wrong format", Buffer.from(text.replace("clawfleet-skill/1", "clawfleet-skill/2")), /format/],
        ["not JSON", Buffer.from("SKILL.md"), /JSON/],
        ["not UTF-8", Buffer.from([0x7b, 0xff, 0x7d]), /UTF-8/],
        ["a file entry that is a string", Buffer.from(`{"format":"${BUNDLE_FORMAT}","files":["SKILL.md"]}`), /path/]
      ]
      for (const [name, bytes, why] of variants) assert.match(yield* refused(bundles.put(bytes)), why, name)
      assert.match(yield* bundles.put(good), /^sha256:[0-9a-f]{64}$/)
    }).pipe(Effect.provide(layer))
  )

  it.effect("holds at most 1,000 files and 5 MiB of content", () =>
    Effect.gen(function* () {
      const bundles = yield* SkillBundles
      const many = (n: number) => [skill, ...Array.from({ length: n - 1 }, (_, i) => ({ path: `f/${i}`, content: "" }))]
      yield* bundles.put(yield* bundles.pack(many(MAX_FILES)))
      assert.match(yield* refused(bundles.pack(many(MAX_FILES + 1))), /at most 1000 files/)
      assert.match(yield* refused(bundles.put(raw(many(MAX_FILES + 1).sort(byBytes)))), /at most 1000 files/)

      const big = (size: number) => [skill, { path: "blob", content: new Uint8Array(size - Buffer.byteLength(skill.content)) }]
      yield* bundles.put(yield* bundles.pack(big(MAX_CONTENT_BYTES)))
      assert.match(yield* refused(bundles.pack(big(MAX_CONTENT_BYTES + 1))), /5242880 bytes/)
      const tooBig = Buffer.from(
        JSON.stringify({
          format: BUNDLE_FORMAT,
          files: big(MAX_CONTENT_BYTES + 1).map((f) => ({ path: f.path, mode: 420, content: Buffer.from(f.content).toString("base64") }))
        })
      )
      assert.match(yield* refused(bundles.put(tooBig)), /5242880 bytes/)
      assert.match(yield* refused(bundles.put(Buffer.alloc(MAX_BUNDLE_BYTES + 1, 0x20))), /at most 10485760 bytes/)
    }).pipe(Effect.provide(layer))
  )

  it.live("reads a skill directory from disk, refusing links, and installs only validated paths", () =>
    Effect.acquireUseRelease(
      Effect.promise(() => mkdtemp(join(tmpdir(), "clawfleet-bundle-"))),
      (dir) =>
        Effect.promise(async () => {
          const src = join(dir, "src")
          await mkdir(join(src, "scripts"), { recursive: true })
          await writeFile(join(src, "SKILL.md"), skill.content)
          await writeFile(join(src, "scripts", "run.sh"), "#!/bin/sh\n")
          await chmod(join(src, "scripts", "run.sh"), 0o755)
          await writeFile(join(src, MARKER_FILE), "{}")
          const files = await readSkillDirectory(src)
          const packed = packBundle(files)
          assert.isTrue(Result.isSuccess(packed))
          const unpacked = unpackBundle((packed as Result.Success<Uint8Array, never>).success) as Result.Success<
            ReadonlyArray<SkillFile>,
            never
          >
          assert.deepStrictEqual(
            unpacked.success.map((f) => [f.path, f.mode]),
            [
              ["SKILL.md", 0o644],
              ["scripts/run.sh", 0o755]
            ]
          )

          await symlink("/etc/passwd", join(src, "passwd"))
          const linked = await readSkillDirectory(src).then(
            () => "read",
            (e: Error) => e.message
          )
          assert.match(linked, /links are not allowed/)

          // The installer checks paths itself too: a caller that skipped unpackBundle writes nothing.
          const skills = join(dir, "skills")
          await mkdir(skills)
          const evil: ReadonlyArray<SkillFile> = [
            { path: "SKILL.md", mode: 0o644, content: Buffer.from("x") },
            { path: "../escaped", mode: 0o644, content: Buffer.from("x") }
          ]
          const installed = await installSkill(skills, { name: "evil", version: "1", digest: sha(Buffer.from("x")) }, evil).then(
            () => "installed",
            (e: Error) => e.message
          )
          assert.match(installed, /refusing to write/)
          assert.deepStrictEqual(await readdir(skills), [])
          assert.notInclude(await readdir(dir), "escaped")
        }),
      (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
    )
  )
})

function byBytes(a: { path: string }, b: { path: string }) {
  return Buffer.compare(Buffer.from(a.path), Buffer.from(b.path))
}
