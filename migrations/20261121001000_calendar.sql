-- The user's calendar (bookings, reminders, plans).
--
-- Re-runnable: every statement is idempotent (if not exists / drop-if-exists / or replace).

-- ===========================================================================
-- public.calendar_events  (own)
-- ===========================================================================

create table if not exists public.calendar_events (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  title text not null check (char_length(title) between 1 and 200),
  description text,
  starts_at timestamptz not null,
  ends_at timestamptz,
  all_day boolean not null default false,
  location text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint calendar_events_ends_after_starts check (ends_at is null or ends_at >= starts_at)
);

create index if not exists calendar_events_user_starts_at_idx on public.calendar_events (user_id, starts_at);

drop trigger if exists set_updated_at on public.calendar_events;
create trigger set_updated_at before update on public.calendar_events
  for each row execute function public.set_updated_at();

alter table public.calendar_events enable row level security;

revoke all on table public.calendar_events from anon, authenticated;
grant select, insert, update, delete on table public.calendar_events to authenticated;
grant all on table public.calendar_events to service_role;

drop policy if exists "Users can read their own calendar events" on public.calendar_events;
create policy "Users can read their own calendar events" on public.calendar_events
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own calendar events" on public.calendar_events;
create policy "Users can add their own calendar events" on public.calendar_events
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own calendar events" on public.calendar_events;
create policy "Users can update their own calendar events" on public.calendar_events
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own calendar events" on public.calendar_events;
create policy "Users can delete their own calendar events" on public.calendar_events
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.calendar_events is 'own: events on the user''s calendar';
