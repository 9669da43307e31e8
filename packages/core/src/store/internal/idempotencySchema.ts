// The REST API's Idempotency-Key memory (packages/server/src/api/IdempotencySql.ts), kept here
// because core owns every migration; src/store/Migrations.ts runs it as migration 10.

const q = (schema: string, name: string) => `"${schema}"."${name}"`

// One row per (caller, key). Times are epoch milliseconds from the server's Effect Clock, as the
// metering ledger's are, so every replica and every test agrees on what "expired" means. A
// pending row's expires_at is its lease: past it, the replica that claimed the key is presumed
// dead and another may claim it.
export const idempotencyDdl = (schema: string): ReadonlyArray<string> => {
  const keys = q(schema, "idempotency_keys")
  return [
    `create table ${keys} (
      caller text not null,
      key text not null,
      fingerprint text not null,
      operation text not null,
      status text not null check (status in ('pending', 'done')),
      holder text not null,
      value jsonb,
      created_at bigint not null,
      expires_at bigint not null,
      primary key (caller, key)
    )`,
    `create index idempotency_keys_expires on ${keys} (expires_at)`
  ]
}
