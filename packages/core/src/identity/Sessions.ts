import { Clock, Context, DateTime, Effect, Layer, Redacted, Schema } from "effect"
import { Directory } from "../Directory.ts"
import type { Person } from "../domain/Directory.ts"
import { DnsLabel } from "../domain/Names.ts"
import type { StoreError } from "../Errors.ts"
import { bearerSecrets, hashSecret } from "../internal/bearerSecret.ts"
import type { RecordStore } from "../store/RecordStore.ts"
import { makeRepository, type Repository, type Versioned } from "../store/Repository.ts"

/**
 * A signed-in browser. Only the SHA-256 of its token is stored, as the record id: a lookup is one
 * primary-key read and a leaked database holds no usable session. 256 random bits make a slow
 * hash pointless.
 */
export class Session extends Schema.Class<Session>("@clawfleet/core/Session")({
  /** Hex SHA-256 of the token. */
  id: Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/)),
  person: DnsLabel,
  createdAt: Schema.DateTimeUtcFromString,
  /** Refreshed at most once a minute, so it may lag the last request by up to that. */
  lastSeenAt: Schema.DateTimeUtcFromString,
  /** The session ends here however busy it is. */
  absoluteExpiry: Schema.DateTimeUtcFromString
}) {}

export interface SessionOptions {
  /** Ends a session nobody used for this long. At least 2 (lastSeenAt moves in whole minutes); default 30. */
  readonly idleMinutes?: number | undefined
  /** Ends every session this long after sign-in. Default 12. */
  readonly absoluteHours?: number | undefined
}

export interface IssuedSession {
  /** The cookie value: shown once, never stored. */
  readonly token: Redacted.Redacted<string>
  readonly session: Session
}

const tokens = bearerSecrets("cfs_")
const TOUCH_INTERVAL_MILLIS = 60_000

export const hashSessionToken = hashSecret

const reveal = (token: string | Redacted.Redacted<string>) => (typeof token === "string" ? token : Redacted.value(token))

const millis = DateTime.toEpochMillis

/** Signed-in browsers: issued at sign-in, checked on every request, ended by logout, timeout or offboarding. */
export class Sessions extends Context.Service<
  Sessions,
  {
    /** Fails with NotFound when the person does not exist. */
    readonly create: (person: string) => Effect.Effect<IssuedSession, StoreError>
    /**
     * The session's person, or undefined when the token is malformed or unknown, the session is
     * idle or past its absolute expiry, or the person is disabled or gone. A session that fails
     * is deleted, so re-enabling a person does not bring their old sessions back.
     */
    readonly verify: (token: string | Redacted.Redacted<string>) => Effect.Effect<Person | undefined, StoreError>
    /** Ends one session (logout); an unknown token is not an error. */
    readonly revoke: (token: string | Redacted.Redacted<string>) => Effect.Effect<void, StoreError>
    /** Ends every session of a person; returns how many. */
    readonly revokeAllOf: (person: string) => Effect.Effect<number, StoreError>
    /** Deletes the sessions that have timed out but were never presented again; returns how many. */
    readonly purgeExpired: Effect.Effect<number, StoreError>
  }
>()("@clawfleet/core/Sessions") {
  static layer(options: SessionOptions = {}): Layer.Layer<Sessions, never, Directory | RecordStore> {
    return Layer.effect(
      Sessions,
      Effect.gen(function* () {
        const idleMinutes = options.idleMinutes ?? 30
        const absoluteHours = options.absoluteHours ?? 12
        if (!(idleMinutes >= 2) || !(absoluteHours > 0)) {
          return yield* Effect.die(new Error("Sessions: idleMinutes must be at least 2 and absoluteHours above 0"))
        }
        const idleMillis = idleMinutes * 60_000
        const absoluteMillis = absoluteHours * 3_600_000
        const directory = yield* Directory
        const repo: Repository<Session, "sessions"> = yield* makeRepository("sessions", Session, (s) => s.id)

        const timedOut = (s: Session, now: number) => now >= millis(s.absoluteExpiry) || now - millis(s.lastSeenAt) >= idleMillis

        // Another request may have deleted or refreshed it first; either way this one has nothing to do.
        const settled = <A>(self: Effect.Effect<A, StoreError>) =>
          Effect.catchIf(
            self,
            (e) => e.reason._tag === "NotFound" || e.reason._tag === "Conflict",
            () => Effect.void
          )
        const forget = (row: Versioned<Session>) => settled(repo.remove(row.value.id, row.version))

        const verify = Effect.fnUntraced(function* (token: string | Redacted.Redacted<string>) {
          const raw = reveal(token)
          const id = tokens.idOf(raw)
          if (id === undefined) return undefined
          const row = yield* repo.find(id)
          if (row === undefined) return undefined
          const now = yield* Clock.currentTimeMillis
          const person = timedOut(row.value, now) ? undefined : yield* directory.people.find(row.value.person)
          if (person === undefined || person.value.disabled) {
            yield* forget(row)
            return undefined
          }
          // One unaudited write a minute at most, however many requests the browser makes.
          if (now - millis(row.value.lastSeenAt) >= TOUCH_INTERVAL_MILLIS) {
            const touched = new Session({ ...row.value, lastSeenAt: DateTime.makeUnsafe(now) })
            yield* settled(repo.update(touched, row.version, { audit: false }))
          }
          return person.value
        })

        return Sessions.of({
          create: Effect.fn("Sessions.create")(function* (person) {
            yield* directory.people.get(person)
            const { secret: token, id } = tokens.issue()
            const now = yield* Clock.currentTimeMillis
            const session = new Session({
              id,
              person: person as DnsLabel,
              createdAt: DateTime.makeUnsafe(now),
              lastSeenAt: DateTime.makeUnsafe(now),
              absoluteExpiry: DateTime.makeUnsafe(now + absoluteMillis)
            })
            yield* repo.create(session, { action: "session.create" })
            return { token: Redacted.make(token), session }
          }),
          // Untraced: it runs on every request.
          verify,
          revoke: Effect.fn("Sessions.revoke")(function* (token) {
            const raw = reveal(token)
            const id = tokens.idOf(raw)
            if (id === undefined) return
            const row = yield* repo.find(id)
            if (row !== undefined) yield* forget(row)
          }),
          revokeAllOf: Effect.fn("Sessions.revokeAllOf")(function* (person) {
            const rows = yield* repo.allWhere({ person })
            for (const row of rows) yield* forget(row)
            return rows.length
          }),
          purgeExpired: Effect.gen(function* () {
            const now = yield* Clock.currentTimeMillis
            const expired = (yield* repo.all).filter((row) => timedOut(row.value, now))
            for (const row of expired) yield* forget(row)
            return expired.length
          }).pipe(Effect.withSpan("Sessions.purgeExpired"))
        })
      })
    )
  }
}
