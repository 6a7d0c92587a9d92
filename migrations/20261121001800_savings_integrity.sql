-- Savings integrity: what PAM saved a user is a record, not something the user edits.
--
-- The savings guarantee pays out when a month's total is below the subscription price, so
-- a total the user could lower (or a saving they could delete) would let anyone holding
-- their own access token make every month free through the REST API. From here on:
--   * pam_savings (the monthly totals) is read-only for signed-in users; it is maintained
--     by a trigger on pam_savings_events, the only way a total changes;
--   * pam_savings_events is append-only for signed-in users (read and add, like
--     safety_events); corrections are the service role's job.
-- The trigger function is SECURITY DEFINER because users may no longer write the totals;
-- it touches only the month row of the event's own user_id, which the insert policy has
-- already checked is auth.uid(), pins search_path, and no API role may execute it.
--
-- Re-runnable: create or replace, drop ... if exists, idempotent grants and revokes.

create or replace function public.add_saving_to_month()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.pam_savings as s (user_id, month, total_saved)
  values (new.user_id, date_trunc('month', new.saved_on)::date, new.amount)
  on conflict (user_id, month)
  do update set total_saved = s.total_saved + excluded.total_saved;
  return null;
end;
$$;

revoke all on function public.add_saving_to_month() from public, anon, authenticated;

drop trigger if exists add_saving_to_month on public.pam_savings_events;
create trigger add_saving_to_month after insert on public.pam_savings_events
  for each row execute function public.add_saving_to_month();

-- record_saving now only adds the event; the trigger adds it to the month, in the same
-- transaction. Same signature, same results.
create or replace function public.record_saving(
  p_amount numeric,
  p_category text,
  p_description text,
  p_saved_on date,
  p_client_ref text default null
)
returns table (event_id uuid, month date, month_total numeric, duplicate boolean)
language plpgsql
security invoker
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_uid uuid := auth.uid();
  v_id uuid;
  v_saved_on date := coalesce(p_saved_on, current_date);
  v_dup boolean := false;
  v_month date;
  v_total numeric;
begin
  if v_uid is null then
    raise exception 'record_saving: not authenticated (auth.uid() is null)'
      using errcode = '28000',
            hint = 'Call it inside a transaction with role authenticated and request.jwt.claims set.';
  end if;

  insert into public.pam_savings_events as e
         (user_id, amount, category, description, saved_on, client_ref)
  values (v_uid, p_amount, p_category, p_description, v_saved_on, p_client_ref)
  on conflict (user_id, client_ref) do nothing
  returning e.id into v_id;

  if v_id is null then
    -- Only a non-null client_ref can conflict (NULLs are distinct in a unique constraint).
    v_dup := true;
    select e.id, e.saved_on into v_id, v_saved_on
      from public.pam_savings_events as e
     where e.user_id = v_uid and e.client_ref = p_client_ref;
  end if;
  v_month := date_trunc('month', v_saved_on)::date;

  select s.total_saved into v_total
    from public.pam_savings as s
   where s.user_id = v_uid and s.month = v_month;

  event_id := v_id;
  month := v_month;
  month_total := coalesce(v_total, 0);
  duplicate := v_dup;
  return next;
end;
$$;

revoke all on function public.record_saving(numeric, text, text, date, text) from public, anon;
grant execute on function public.record_saving(numeric, text, text, date, text) to authenticated, service_role;

-- The monthly totals: read-only for signed-in users.
revoke insert, update, delete on table public.pam_savings from authenticated;
drop policy if exists "Users can add their own monthly savings" on public.pam_savings;
drop policy if exists "Users can update their own monthly savings" on public.pam_savings;
drop policy if exists "Users can delete their own monthly savings" on public.pam_savings;
comment on table public.pam_savings is
  'own: one row per user and calendar month: the total PAM saved (read-only for users; kept by a trigger on pam_savings_events)';
comment on column public.pam_savings.free_month is
  'Not maintained: the guarantee depends on the configured subscription price, so pam-mcp computes it when read.';

-- The individual savings: append-only for signed-in users.
revoke update, delete on table public.pam_savings_events from authenticated;
drop policy if exists "Users can update their own savings events" on public.pam_savings_events;
drop policy if exists "Users can delete their own savings events" on public.pam_savings_events;
comment on table public.pam_savings_events is
  'own: each individual saving PAM found for the user (append-only for users; the audit trail behind pam_savings)';
