import type { SqlError } from "effect/sql"
import { StoreError } from "../Errors.ts"

export const isSqlError = (e: unknown): e is SqlError.SqlError => (e as { _tag?: unknown } | null)?._tag === "SqlError"

// Keep the database's own words: "Query failed" alone tells an operator nothing.
export const fromSql = (e: SqlError.SqlError): StoreError => {
  const cause = (e.reason as { cause?: unknown }).cause
  const detail = cause instanceof Error && cause.message ? `${e.message}: ${cause.message}` : e.message
  return StoreError.unavailable(detail, e.isRetryable, e)
}
