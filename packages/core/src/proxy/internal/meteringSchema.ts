// Kept with the metering it serves; src/store/Migrations.ts runs it as migration 4.

const q = (schema: string, name: string) => `"${schema}"."${name}"`

// The budgets, rate buckets and ledger of the token proxy (src/proxy/internal/meteringSql.ts),
// with the functions that make each of its writes one statement. Bucket levels count 1/60000ths
// of a request or token, so a bucket of capacity C refills exactly C per millisecond and every
// level is a whole number a double holds exactly (src/proxy/internal/meteringRules.ts does the
// same arithmetic for the memory implementation).
//
// Locks are always taken in one order: existing ledger rows, then bucket rows, then budget rows
// (several of a kind in key order), so no two metering statements can deadlock. A reserve inserts
// its ledger row last, but a new row is contended only by a reserve of the same id, which holds
// no ledger lock. A tenant's reserves queue on its rows; other tenants never wait for them.
export const meteringDdl = (schema: string): ReadonlyArray<string> => {
  const budgets = q(schema, "metering_budgets")
  const buckets = q(schema, "metering_buckets")
  const ledger = q(schema, "metering_ledger")
  const refill = q(schema, "metering_refill")
  // The items of a batch, one per request id (the first one given for it).
  const closing = `(select distinct on (e.item->>'id') e.item->>'id' as request_id, e.item->>'state' as state,
      (e.item->>'input')::bigint as input, (e.item->>'output')::bigint as output, (e.item->>'micros')::bigint as micros,
      e.item->>'note' as note
    from jsonb_array_elements(p_items) with ordinality as e(item, n) order by e.item->>'id', e.n)`
  return [
    `create table ${budgets} (
      tenant text not null,
      period text not null,
      spent_tokens bigint not null default 0,
      reserved_tokens bigint not null default 0,
      spent_micros bigint not null default 0,
      reserved_micros bigint not null default 0,
      primary key (tenant, period)
    )`,
    // A null capacity is a bucket not tracked (no limit yet): it starts full when one is set.
    `create table ${buckets} (
      tenant text primary key,
      rpm_capacity bigint,
      rpm_level double precision,
      rpm_at bigint,
      tpm_capacity bigint,
      tpm_level double precision,
      tpm_at bigint
    )`,
    // Byte order for request ids, so keyset pages come out in the order the memory store uses.
    `create table ${ledger} (
      request_id text collate "C" primary key,
      tenant text not null,
      period text not null,
      model text not null,
      state text not null check (state in ('reserved', 'settled', 'released')),
      reserved_tokens bigint not null,
      reserved_micros bigint not null,
      tpm_charged boolean not null,
      input_tokens bigint not null default 0,
      output_tokens bigint not null default 0,
      micros bigint not null default 0,
      reserved_at bigint not null,
      closed_at bigint,
      note text
    )`,
    `create index metering_ledger_page on ${ledger} (tenant, period, request_id)`,
    // Only open reservations are ever looked up by age.
    `create index metering_ledger_open on ${ledger} (reserved_at) where state = 'reserved'`,
    `create function ${refill}(level double precision, at bigint, capacity bigint, now bigint) returns double precision
      language sql immutable as $$
        select case when level is null then capacity * 60000::double precision
          else least(capacity * 60000::double precision, level + greatest(0, now - at)::double precision * capacity) end
      $$`,
    `create function ${q(schema, "metering_reserve")}(
        p_request_id text, p_tenant text, p_model text, p_tokens bigint, p_micros bigint,
        p_monthly_tokens bigint, p_monthly_micros bigint, p_rpm bigint, p_tpm bigint,
        p_now bigint, p_period text, p_next_period bigint,
        out o_reason text, out o_retry_after_ms bigint, out o_spent_tokens bigint,
        out o_reserved_tokens bigint, out o_spent_micros bigint, out o_reserved_micros bigint)
      language plpgsql as $$
      declare
        k ${buckets}%rowtype;
        b ${budgets}%rowtype;
        v_rpm double precision;
        v_tpm double precision;
      begin
        if p_rpm is not null or p_tpm is not null then
          insert into ${buckets} (tenant) values (p_tenant) on conflict (tenant) do nothing;
          select * into k from ${buckets} where tenant = p_tenant for update;
        end if;
        insert into ${budgets} (tenant, period) values (p_tenant, p_period) on conflict (tenant, period) do nothing;
        select * into b from ${budgets} where tenant = p_tenant and period = p_period for update;
        if exists (select 1 from ${ledger} where request_id = p_request_id) then
          o_reason := 'DuplicateRequest';
          return;
        end if;
        if p_monthly_tokens is not null and b.spent_tokens + b.reserved_tokens + p_tokens > p_monthly_tokens then
          o_reason := 'MonthlyTokens';
          o_retry_after_ms := case when p_tokens > p_monthly_tokens then null else p_next_period - p_now end;
          return;
        end if;
        if p_monthly_micros is not null and b.spent_micros + b.reserved_micros + p_micros > p_monthly_micros then
          o_reason := 'MonthlyMicros';
          o_retry_after_ms := case when p_micros > p_monthly_micros then null else p_next_period - p_now end;
          return;
        end if;
        if p_rpm is not null then
          v_rpm := ${refill}(k.rpm_level, k.rpm_at, p_rpm, p_now);
          if v_rpm < 60000 then
            o_reason := 'RequestsPerMinute';
            o_retry_after_ms := case when p_rpm < 1 then null else ceil((60000 - v_rpm) / p_rpm)::bigint end;
            return;
          end if;
        end if;
        if p_tpm is not null then
          v_tpm := ${refill}(k.tpm_level, k.tpm_at, p_tpm, p_now);
          if v_tpm < p_tokens * 60000::double precision then
            o_reason := 'TokensPerMinute';
            o_retry_after_ms := case when p_tokens > p_tpm or p_tpm = 0 then null
              else ceil((p_tokens * 60000::double precision - v_tpm) / p_tpm)::bigint end;
            return;
          end if;
        end if;
        -- Before any write: the same id reserved at this moment for another tenant (whose rows
        -- this one did not queue on) ends here, with nothing changed.
        insert into ${ledger} (request_id, tenant, period, model, state, reserved_tokens, reserved_micros, tpm_charged, reserved_at)
          values (p_request_id, p_tenant, p_period, p_model, 'reserved', p_tokens, p_micros, p_tpm is not null, p_now)
          on conflict (request_id) do nothing;
        if not found then
          o_reason := 'DuplicateRequest';
          return;
        end if;
        if p_rpm is not null then
          update ${buckets} set rpm_capacity = p_rpm, rpm_level = v_rpm - 60000, rpm_at = greatest(rpm_at, p_now)
            where tenant = p_tenant;
        end if;
        if p_tpm is not null then
          update ${buckets} set tpm_capacity = p_tpm, tpm_level = v_tpm - p_tokens * 60000::double precision, tpm_at = greatest(tpm_at, p_now)
            where tenant = p_tenant;
        end if;
        update ${budgets} set reserved_tokens = reserved_tokens + p_tokens, reserved_micros = reserved_micros + p_micros
          where tenant = p_tenant and period = p_period
          returning spent_tokens, reserved_tokens, spent_micros, reserved_micros
          into o_spent_tokens, o_reserved_tokens, o_spent_micros, o_reserved_micros;
      end
      $$`,
    // Many reservations in one statement. Tenants are taken in name order, so batches lock
    // tenants in one order and cannot deadlock; a tenant's requests keep their order.
    `create function ${q(schema, "metering_reserve_many")}(p_items jsonb, p_now bigint, p_period text, p_next_period bigint)
      returns table (n bigint, o_reason text, o_retry_after_ms bigint, o_spent_tokens bigint, o_reserved_tokens bigint,
        o_spent_micros bigint, o_reserved_micros bigint)
      language plpgsql as $$
      declare
        i record;
      begin
        for i in
          select e.n as pos, e.item from jsonb_array_elements(p_items) with ordinality as e(item, n)
          order by e.item->>'tenant' collate "C", e.n
        loop
          n := i.pos;
          select r.o_reason, r.o_retry_after_ms, r.o_spent_tokens, r.o_reserved_tokens, r.o_spent_micros, r.o_reserved_micros
            into o_reason, o_retry_after_ms, o_spent_tokens, o_reserved_tokens, o_spent_micros, o_reserved_micros
            from ${q(schema, "metering_reserve")}(
              i.item->>'requestId', i.item->>'tenant', i.item->>'model', (i.item->>'tokens')::bigint, (i.item->>'micros')::bigint,
              (i.item->>'monthlyTokens')::bigint, (i.item->>'monthlyMicros')::bigint,
              (i.item->>'requestsPerMinute')::bigint, (i.item->>'tokensPerMinute')::bigint,
              p_now, p_period, p_next_period) r;
          return next;
        end loop;
      end
      $$`,
    // Many closings at once, locking in the same order as everything else: the open ledger rows
    // by id, then their tenants' buckets, then their budgets. Per tenant the TPM corrections are
    // summed and applied once. Returns the ids it closed.
    `create function ${q(schema, "metering_close_many")}(p_items jsonb, p_now bigint)
      returns setof text language plpgsql as $$
      declare
        ids text[];
      begin
        select coalesce(array_agg(request_id), '{}') into ids from (
          select l.request_id from ${ledger} l join ${closing} c using (request_id)
          where l.state = 'reserved' order by l.request_id for update of l) open;
        if cardinality(ids) = 0 then
          return;
        end if;
        perform 1 from ${buckets}
          where tenant in (select tenant from ${ledger} where request_id = any(ids) and tpm_charged)
          order by tenant for update;
        perform 1 from ${budgets}
          where (tenant, period) in (select tenant, period from ${ledger} where request_id = any(ids))
          order by tenant, period for update;
        update ${buckets} k set
            tpm_level = least(k.tpm_capacity * 60000::double precision,
              ${refill}(k.tpm_level, k.tpm_at, k.tpm_capacity, p_now) + s.tokens * 60000::double precision),
            tpm_at = greatest(k.tpm_at, p_now)
          from (select l.tenant, sum(l.reserved_tokens - c.input - c.output)::double precision as tokens
                from ${ledger} l join ${closing} c using (request_id)
                where l.request_id = any(ids) and l.tpm_charged group by l.tenant) s
          where k.tenant = s.tenant and k.tpm_capacity is not null;
        update ${budgets} b set
            reserved_tokens = b.reserved_tokens - s.held_tokens,
            reserved_micros = b.reserved_micros - s.held_micros,
            spent_tokens = b.spent_tokens + s.used_tokens,
            spent_micros = b.spent_micros + s.used_micros
          from (select l.tenant, l.period, sum(l.reserved_tokens) as held_tokens, sum(l.reserved_micros) as held_micros,
                  sum(c.input + c.output) as used_tokens, sum(c.micros) as used_micros
                from ${ledger} l join ${closing} c using (request_id)
                where l.request_id = any(ids) group by l.tenant, l.period) s
          where b.tenant = s.tenant and b.period = s.period;
        update ${ledger} l set state = c.state, input_tokens = c.input, output_tokens = c.output, micros = c.micros,
            note = c.note, closed_at = p_now
          from ${closing} c
          where l.request_id = c.request_id and l.request_id = any(ids);
        return query select unnest(ids);
      end
      $$`,
    // Rows another statement is closing right now are skipped: that one decides them.
    `create function ${q(schema, "metering_release_expired")}(p_cutoff bigint, p_now bigint)
      returns integer language plpgsql as $$
      declare
        ids text[];
      begin
        select coalesce(array_agg(request_id), '{}') into ids from (
          select request_id from ${ledger} where state = 'reserved' and reserved_at < p_cutoff
          order by request_id for update skip locked) expired;
        if cardinality(ids) = 0 then
          return 0;
        end if;
        -- Released as any other closing is, in the same lock order; the rows are already ours.
        return (select count(*) from ${q(schema, "metering_close_many")}(
          (select jsonb_agg(jsonb_build_object('id', id, 'state', 'released', 'input', 0, 'output', 0, 'micros', 0, 'note', 'expired'))
            from unnest(ids) id),
          p_now));
      end
      $$`
  ]
}
