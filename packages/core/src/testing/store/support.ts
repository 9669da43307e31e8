import { Exit } from "effect"
import { Department } from "../../domain/Directory.ts"
import type { DisplayName, DnsLabel } from "../../domain/Names.ts"
import type { StoreError } from "../../Errors.ts"

export const label = (s: string) => s as DnsLabel
export const name = (s: string) => s as typeof DisplayName.Type
export const dept = (id: string, displayName = id) => new Department({ id: label(id), displayName: name(displayName) })

export const reasonOf = <A>(exit: Exit.Exit<A, StoreError>) =>
  Exit.isFailure(exit)
    ? (exit.cause.reasons.find((r) => r._tag === "Fail") as { error: StoreError } | undefined)?.error.reason._tag
    : "Success"
