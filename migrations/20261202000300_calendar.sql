-- The calendar as tools: add, change, remove and list events (bookings, appointments,
-- reminders), each one SQL function (the shape of 20261201000100_operations.sql).
--
-- What an event gains here: its kind, what it costs (a campsite booking) and a client_ref, so
-- a retried add_event books once. The rules are CHECK constraints, because people can write
-- this table through Supabase's REST API without pam-mcp; the functions add the checks that
-- need the person's time zone and word every refusal for them (SQLSTATE PAM01).
--
-- Times: a timed event is stored as the instant given (ISO 8601 with offset). An all-day event
-- is stored from local midnight of its first day to local midnight after its last day (an
-- exclusive end, as in iCalendar), in the person's time zone when it was written, so
-- "not over yet" and "overlaps this range" are the same comparison for both kinds. Answers
-- show times in the person's offset (public.pam_local_time) and the local first and last day.
--
-- Re-runnable: add ... if not exists, constraints dropped and re-added, create or replace.

alter table public.calendar_events add column if not exists kind text not null default 'other';
alter table public.calendar_events add column if not exists cost numeric(12,2);
alter table public.calendar_events add column if not exists client_ref text;

alter table public.calendar_events drop constraint if exists calendar_events_kind_check;
alter table public.calendar_events add constraint calendar_events_kind_check
  check (kind in ('booking', 'appointment', 'reminder', 'other'));
-- Money, as everywhere (20261130000200_sane_numbers_and_dates.sql): no NaN, at most 1,000,000;
-- zero is a free booking.
alter table public.calendar_events drop constraint if exists calendar_events_cost_check;
alter table public.calendar_events add constraint calendar_events_cost_check
  check (cost is null or (cost >= 0 and cost <= 1000000 and cost <> 'NaN'));
alter table public.calendar_events drop constraint if exists calendar_events_client_ref_check;
alter table public.calendar_events add constraint calendar_events_client_ref_check
  check (client_ref is null or char_length(client_ref) between 1 and 200);
-- An all-day event always has its end (midnight after its last day).
alter table public.calendar_events drop constraint if exists calendar_events_all_day_has_end;
alter table public.calendar_events add constraint calendar_events_all_day_has_end
  check (not all_day or ends_at is not null) not valid;

-- A retry with the same client_ref finds the first booking (NULLs never conflict). Led by
-- user_id, it also serves the policies' user_id lookups.
create unique index if not exists calendar_events_user_client_ref_key
  on public.calendar_events (user_id, client_ref);

comment on column public.calendar_events.kind is 'booking, appointment, reminder or other';
comment on column public.calendar_events.cost is 'What it costs (e.g. a campsite booking), in the profile currency; null: unknown or none';
comment on column public.calendar_events.client_ref is 'Idempotency key of the add that created it (a retry adds nothing)';

-- ---------------------------------------------------------------------------
-- One event as every calendar answer shows it, in the person's zone p_zone.
-- ---------------------------------------------------------------------------
create or replace function public.calendar_event_document(p_event public.calendar_events, p_zone text)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
    'event_id', (p_event).id, 'title', (p_event).title, 'kind', (p_event).kind,
    'starts_at', public.pam_local_time((p_event).starts_at, p_zone),
    'ends_at', public.pam_local_time((p_event).ends_at, p_zone),
    'all_day', (p_event).all_day,
    'first_day', ((p_event).starts_at at time zone p_zone)::date,
    'last_day', case
      when (p_event).all_day then (((p_event).ends_at at time zone p_zone) - interval '1 microsecond')::date
      else (coalesce((p_event).ends_at, (p_event).starts_at) at time zone p_zone)::date end,
    'location', (p_event).location, 'cost', (p_event).cost, 'notes', (p_event).description)
$$;

comment on function public.calendar_event_document(public.calendar_events, text) is
  'One calendar event as the calendar tools answer it: times in zone p_zone, its local first and last day.';

-- ---------------------------------------------------------------------------
-- Where an event starts and ends, from what the person gave: an instant or a day for each end.
-- Shared by add and update so the two word every refusal the same way.
-- ---------------------------------------------------------------------------
create or replace function public.calendar_event_span(
  p_all_day boolean, p_starts_at timestamptz, p_start_day date, p_ends_at timestamptz, p_end_day date, p_zone text,
  out starts_at timestamptz, out ends_at timestamptz
)
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_first date;
  v_last date;
begin
  if p_starts_at is null and p_start_day is null then
    raise exception 'starts_at is missing; give ISO 8601 with offset (2026-12-05T14:00:00+10:00) or a date (YYYY-MM-DD) for an all-day event'
      using errcode = 'PAM01';
  end if;
  if p_all_day then
    v_first := coalesce(p_start_day, (p_starts_at at time zone p_zone)::date);
    v_last := coalesce(p_end_day, (p_ends_at at time zone p_zone)::date, v_first);
    if v_last < v_first then
      raise exception 'ends_at is before starts_at; for an all-day event ends_at is its last day (YYYY-MM-DD)'
        using errcode = 'PAM01';
    end if;
    if v_first < date '2000-01-01' or v_last >= date '2099-12-31' then
      raise exception 'starts_at and ends_at must fall between 2000-01-01 and 2099-12-30' using errcode = 'PAM01';
    end if;
    starts_at := v_first::timestamp at time zone p_zone;
    ends_at := (v_last + 1)::timestamp at time zone p_zone;
    return;
  end if;
  if p_start_day is not null then
    raise exception 'starts_at is a date, which means an all-day event; give a time with offset (2026-12-05T14:00:00+10:00) or set all_day true'
      using errcode = 'PAM01';
  end if;
  if p_end_day is not null then
    raise exception 'ends_at is a date, but the event has a start time; give ends_at with a time and offset (2026-12-05T16:00:00+10:00)'
      using errcode = 'PAM01';
  end if;
  if p_ends_at < p_starts_at then
    raise exception 'ends_at is before starts_at' using errcode = 'PAM01';
  end if;
  if p_starts_at < timestamptz '2000-01-01 00:00+00' or coalesce(p_ends_at, p_starts_at) >= timestamptz '2100-01-01 00:00+00' then
    raise exception 'starts_at and ends_at must fall between 2000-01-01 and 2099-12-31' using errcode = 'PAM01';
  end if;
  starts_at := p_starts_at;
  ends_at := p_ends_at;
end;
$$;

comment on function public.calendar_event_span(boolean, timestamptz, date, timestamptz, date, text) is
  'Start and end of an event from an instant or a day for each end (all-day: local midnights, exclusive end); refuses what makes no sense (PAM01).';

-- ---------------------------------------------------------------------------
-- add_event: one event (all_day defaults to true when starts_at is a day). With a client_ref
-- seen before, the earlier event, duplicate.
-- ---------------------------------------------------------------------------
create or replace function public.pam_add_event(
  p_title text, p_starts_at timestamptz, p_start_day date, p_ends_at timestamptz, p_end_day date, p_all_day boolean,
  p_location text, p_kind text, p_cost numeric, p_notes text, p_client_ref text
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_zone text := public.pam_zone();
  v_span record;
  v_row public.calendar_events;
  v_duplicate boolean := false;
begin
  select * into v_span
    from public.calendar_event_span(coalesce(p_all_day, p_start_day is not null), p_starts_at, p_start_day,
                                    p_ends_at, p_end_day, v_zone);
  insert into public.calendar_events as c (title, starts_at, ends_at, all_day, location, kind, cost, description,
                                           client_ref)
  values (p_title, v_span.starts_at, v_span.ends_at, coalesce(p_all_day, p_start_day is not null), p_location,
          coalesce(p_kind, 'other'), p_cost, p_notes, p_client_ref)
  on conflict (user_id, client_ref) do nothing
  returning c.* into v_row;
  if v_row.id is null then
    v_duplicate := true;  -- only a non-null client_ref can conflict
    select c.* into v_row from public.calendar_events as c
     where c.user_id = (select auth.uid()) and c.client_ref = p_client_ref;
  end if;
  return pg_catalog.jsonb_build_object(
    'id', v_row.id, 'event', public.calendar_event_document(v_row, v_zone), 'duplicate', v_duplicate,
    'time_zone', v_zone);
end;
$$;

-- ---------------------------------------------------------------------------
-- update_event: the fields given change, those in p_clear (ends_at, location, cost, notes)
-- are removed, the rest stay. Moving a timed event's start moves its end with it (same
-- length); an all-day event keeps its number of days. Null: no such event of the person's.
-- ---------------------------------------------------------------------------
create or replace function public.pam_update_event(
  p_event_id uuid, p_title text, p_starts_at timestamptz, p_start_day date, p_ends_at timestamptz, p_end_day date,
  p_all_day boolean, p_location text, p_kind text, p_cost numeric, p_notes text, p_clear text[]
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_zone text := public.pam_zone();
  v_old public.calendar_events;
  v_new public.calendar_events;
  v_clear text[] := coalesce(p_clear, '{}');
  v_all_day boolean;
  v_starts timestamptz := p_starts_at;
  v_start_day date := p_start_day;
  v_ends timestamptz := p_ends_at;
  v_end_day date := p_end_day;
  v_span record;
begin
  select c.* into v_old from public.calendar_events as c where c.id = p_event_id for update;
  if v_old.id is null then
    return null;
  end if;
  v_all_day := coalesce(p_all_day, case when p_start_day is not null then true end, v_old.all_day);
  if v_all_day then
    if v_start_day is null and v_starts is null then
      v_start_day := (v_old.starts_at at time zone v_zone)::date;
    end if;
    if v_end_day is null and v_ends is null and not 'ends_at' = any (v_clear) and v_old.all_day then
      -- Keep its number of days from the (possibly new) first day.
      v_end_day := coalesce(v_start_day, (v_starts at time zone v_zone)::date)
                   + (((v_old.ends_at at time zone v_zone) - interval '1 microsecond')::date
                      - (v_old.starts_at at time zone v_zone)::date);
    end if;
  else
    if v_starts is null and v_start_day is null then
      if v_old.all_day then
        raise exception 'starts_at is needed to give an all-day event a time; ISO 8601 with offset (2026-12-05T14:00:00+10:00)'
          using errcode = 'PAM01';
      end if;
      v_starts := v_old.starts_at;
    end if;
    if v_ends is null and v_end_day is null and not 'ends_at' = any (v_clear) and not v_old.all_day then
      v_ends := v_old.ends_at + (v_starts - v_old.starts_at);  -- the same length, moved with its start
    end if;
  end if;
  select * into v_span from public.calendar_event_span(v_all_day, v_starts, v_start_day, v_ends, v_end_day, v_zone);
  update public.calendar_events as c
     set title = coalesce(p_title, c.title),
         starts_at = v_span.starts_at,
         ends_at = v_span.ends_at,
         all_day = v_all_day,
         location = case when 'location' = any (v_clear) then null else coalesce(p_location, c.location) end,
         kind = coalesce(p_kind, c.kind),
         cost = case when 'cost' = any (v_clear) then null else coalesce(p_cost, c.cost) end,
         description = case when 'notes' = any (v_clear) then null else coalesce(p_notes, c.description) end
   where c.id = v_old.id
  returning c.* into v_new;
  return pg_catalog.jsonb_build_object(
    'id', v_new.id, 'before', public.calendar_event_document(v_old, v_zone),
    'after', public.calendar_event_document(v_new, v_zone), 'time_zone', v_zone);
end;
$$;

-- ---------------------------------------------------------------------------
-- remove_event: the event as it was. Null: no such event of the person's.
-- ---------------------------------------------------------------------------
create or replace function public.pam_remove_event(p_event_id uuid)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_zone text := public.pam_zone();
  v_old public.calendar_events;
begin
  delete from public.calendar_events as c where c.id = p_event_id returning c.* into v_old;
  if v_old.id is null then
    return null;
  end if;
  return pg_catalog.jsonb_build_object(
    'id', v_old.id, 'removed', public.calendar_event_document(v_old, v_zone), 'time_zone', v_zone);
end;
$$;

-- ---------------------------------------------------------------------------
-- list_events: events overlapping the person's days p_start..p_end (default: today and the
-- next 30 days; at most 366 days), soonest first, at most p_limit (<= 100) and whether more.
-- ---------------------------------------------------------------------------
create or replace function public.pam_list_events(p_start date, p_end date, p_limit integer, p_now timestamptz)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_zone text := public.pam_zone();
  v_start date := coalesce(p_start, (public.pam_today(p_now)).today);
  v_end date := coalesce(p_end, v_start + 30);
  v_limit integer := least(greatest(coalesce(p_limit, 50), 1), 100);
  v_from timestamptz;
  v_to timestamptz;
  v_events jsonb;
begin
  if v_end < v_start then
    raise exception 'end is before start' using errcode = 'PAM01';
  end if;
  if v_end - v_start > 366 then
    raise exception 'the range is longer than 366 days; list a shorter period' using errcode = 'PAM01';
  end if;
  if v_start < date '2000-01-01' or v_end > date '2099-12-30' then
    raise exception 'start and end must fall between 2000-01-01 and 2099-12-30 (YYYY-MM-DD)' using errcode = 'PAM01';
  end if;
  v_from := v_start::timestamp at time zone v_zone;
  v_to := (v_end + 1)::timestamp at time zone v_zone;
  select coalesce(pg_catalog.jsonb_agg(public.calendar_event_document(e, v_zone) order by e.starts_at, e.id), '[]')
    into v_events
    from (select c.* from public.calendar_events as c
           where c.user_id = (select auth.uid()) and c.starts_at < v_to
             and coalesce(c.ends_at, c.starts_at) >= v_from
             and (c.all_day is false or c.ends_at > v_from)
           order by c.starts_at, c.id
           limit v_limit + 1) as e;
  return pg_catalog.jsonb_build_object(
    'start', v_start, 'end', v_end, 'time_zone', v_zone,
    'events', (select coalesce(pg_catalog.jsonb_agg(x.value order by x.n), '[]')
                 from pg_catalog.jsonb_array_elements(v_events) with ordinality as x(value, n) where x.n <= v_limit),
    'truncated', pg_catalog.jsonb_array_length(v_events) > v_limit);
end;
$$;

comment on function public.pam_add_event(text, timestamptz, date, timestamptz, date, boolean, text, text, numeric, text, text) is
  'Adds a calendar event of auth.uid() (client_ref counts a retry once); returns it in the person''s time zone.';
comment on function public.pam_update_event(uuid, text, timestamptz, date, timestamptz, date, boolean, text, text, numeric, text, text[]) is
  'Changes one calendar event of auth.uid(); returns it before and after, or null when there is no such event.';
comment on function public.pam_remove_event(uuid) is
  'Removes one calendar event of auth.uid(); returns it as it was, or null when there is no such event.';
comment on function public.pam_list_events(date, date, integer, timestamptz) is
  'Calendar events of auth.uid() overlapping the person''s days start..end (default today + 30; at most 366 days), soonest first, at most 100.';

revoke all on function public.calendar_event_document(public.calendar_events, text),
  public.calendar_event_span(boolean, timestamptz, date, timestamptz, date, text),
  public.pam_add_event(text, timestamptz, date, timestamptz, date, boolean, text, text, numeric, text, text),
  public.pam_update_event(uuid, text, timestamptz, date, timestamptz, date, boolean, text, text, numeric, text, text[]),
  public.pam_remove_event(uuid),
  public.pam_list_events(date, date, integer, timestamptz)
  from public, anon, service_role;
grant execute on function public.calendar_event_document(public.calendar_events, text),
  public.calendar_event_span(boolean, timestamptz, date, timestamptz, date, text),
  public.pam_add_event(text, timestamptz, date, timestamptz, date, boolean, text, text, numeric, text, text),
  public.pam_update_event(uuid, text, timestamptz, date, timestamptz, date, boolean, text, text, numeric, text, text[]),
  public.pam_remove_event(uuid),
  public.pam_list_events(date, date, integer, timestamptz)
  to authenticated;
