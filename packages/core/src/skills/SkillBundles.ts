import { Clock, Context, DateTime, Effect, Layer, Result, Schema } from "effect"
import { Sha256Digest } from "../domain/Names.ts"
import { Corrupt, StoreError, ValidationError } from "../Errors.ts"
import { auditDraft } from "../store/auditDraft.ts"
import { RecordStore } from "../store/RecordStore.ts"
import { makeRepository, type Repository } from "../store/Repository.ts"
import { bundleDigest, isDigest, packBundle, type SkillFileInput, unpackBundle } from "./bundle.ts"

/** A stored bundle: its exact bytes, kept under their digest. */
export class SkillBundle extends Schema.Class<SkillBundle>("@clawfleet/core/SkillBundle")({
  digest: Sha256Digest,
  /** The bundle's bytes in base64: the digest is of these bytes, not of a re-encoding. */
  bytes: Schema.String,
  size: Schema.Int,
  files: Schema.Int,
  createdAt: Schema.DateTimeUtcFromString
}) {}

const invalid = (issue: { readonly path: string; readonly message: string }) =>
  new ValidationError({ subject: "skill bundle", issues: [issue] })

/**
 * Skill bundles by digest (see `bundle.ts` for the format). Content-addressed, so a bundle is never
 * updated: putting the same bytes again is a no-op, and different bytes are a different record.
 * Only what passes every bundle rule is stored, so nothing served to an agent was unchecked.
 */
export class SkillBundles extends Context.Service<
  SkillBundles,
  {
    /** Validates and stores a bundle; returns its digest, for the catalog's `Skill.digest`. */
    readonly put: (bytes: Uint8Array) => Effect.Effect<Sha256Digest, StoreError | ValidationError>
    /** The bundle's exact bytes, or undefined when no bundle has this digest. */
    readonly get: (digest: string) => Effect.Effect<Uint8Array | undefined, StoreError>
    /** Builds the canonical bundle of in-memory files (any order); it is not stored. */
    readonly pack: (files: ReadonlyArray<SkillFileInput>) => Effect.Effect<Uint8Array, ValidationError>
  }
>()("@clawfleet/core/SkillBundles") {
  static readonly layer = Layer.effect(
    SkillBundles,
    Effect.gen(function* () {
      const store = yield* RecordStore
      const repo: Repository<SkillBundle, "skill_bundles"> = yield* makeRepository("skill_bundles", SkillBundle, (b) => b.digest)
      const encode = Schema.encodeSync(SkillBundle)

      return SkillBundles.of({
        put: Effect.fn("SkillBundles.put")(function* (bytes: Uint8Array) {
          const files = unpackBundle(bytes)
          if (Result.isFailure(files)) return yield* invalid(files.failure)
          const digest = bundleDigest(bytes)
          if ((yield* repo.find(digest)) !== undefined) return digest
          const record = new SkillBundle({
            digest,
            bytes: Buffer.from(bytes).toString("base64"),
            size: bytes.byteLength,
            files: files.success.length,
            createdAt: DateTime.makeUnsafe(yield* Clock.currentTimeMillis)
          })
          // Written past the repository's `create`, which would copy the whole record (megabytes of
          // base64) into the hash-chained audit log for good; the digest names the bytes exactly.
          const audit = yield* auditDraft(
            "skill-bundle.put",
            { kind: "skill bundle", id: digest },
            { after: { digest, size: record.size, files: record.files } }
          )
          yield* store.insert("skill_bundles", digest, encode(record), audit).pipe(
            // Two uploads of the same bundle at once: the second finds the first's bytes, which are its own.
            Effect.catchIf(
              (e) => e.reason._tag === "AlreadyExists",
              () => Effect.void
            )
          )
          return digest
        }),

        get: Effect.fn("SkillBundles.get")(function* (digest: string) {
          if (!isDigest(digest)) return undefined
          const found = yield* repo.find(digest)
          if (found === undefined) return undefined
          const bytes = Buffer.from(found.value.bytes, "base64")
          // Cheap next to the transfer, and a row edited by hand must not reach an agent as this digest.
          if (bundleDigest(bytes) !== digest) {
            return yield* new StoreError({
              reason: new Corrupt({ entity: "skill bundle", id: digest, detail: "bytes do not match the digest" })
            })
          }
          return bytes as Uint8Array
        }),

        pack: (files) => {
          const packed = packBundle(files)
          return Result.isSuccess(packed) ? Effect.succeed(packed.success) : Effect.fail(invalid(packed.failure))
        }
      })
    })
  )
}
