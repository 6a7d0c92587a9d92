-- Guardrails configuration (playbook phase 5.5) and the safety audit log (phase 6).
--
-- Seed defects fixed: CREATE TYPE safety_level had no IF NOT EXISTS guard (a re-run failed);
-- pam_guardrails_config allowed many rows per user (now UNIQUE (user_id)) and had no DELETE
-- policy; safety_events gets NOT NULL columns, a severity and an index.
--
-- Re-runnable: every statement is idempotent (if not exists / drop-if-exists / or replace).

do $$
begin
  if not exists (
    select 1 from pg_catalog.pg_type t
      join pg_catalog.pg_namespace n on n.oid = t.typnamespace
     where n.nspname = 'public' and t.typname = 'safety_level'
  ) then
    create type public.safety_level as enum ('low', 'medium', 'high');
  end if;
end
$$;

comment on type public.safety_level is 'How strictly PAM filters: low, medium (default) or high.';

-- ===========================================================================
-- public.pam_guardrails_config  (own)
-- ===========================================================================

create table if not exists public.pam_guardrails_config (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  safety_level public.safety_level not null default 'medium',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint pam_guardrails_config_user_id_key unique (user_id)
);

drop trigger if exists set_updated_at on public.pam_guardrails_config;
create trigger set_updated_at before update on public.pam_guardrails_config
  for each row execute function public.set_updated_at();

alter table public.pam_guardrails_config enable row level security;

revoke all on table public.pam_guardrails_config from anon, authenticated;
grant select, insert, update, delete on table public.pam_guardrails_config to authenticated;
grant all on table public.pam_guardrails_config to service_role;

drop policy if exists "Users can read their own guardrails settings" on public.pam_guardrails_config;
create policy "Users can read their own guardrails settings" on public.pam_guardrails_config
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own guardrails settings" on public.pam_guardrails_config;
create policy "Users can add their own guardrails settings" on public.pam_guardrails_config
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own guardrails settings" on public.pam_guardrails_config;
create policy "Users can update their own guardrails settings" on public.pam_guardrails_config
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own guardrails settings" on public.pam_guardrails_config;
create policy "Users can delete their own guardrails settings" on public.pam_guardrails_config
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.pam_guardrails_config is 'own: the user''s PAM guardrails settings (at most one row per user)';

-- ===========================================================================
-- public.safety_events  (own)
-- ===========================================================================

create table if not exists public.safety_events (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  event_type text not null check (char_length(event_type) between 1 and 100),
  severity text not null default 'info' check (severity in ('info', 'warn', 'block')),
  details jsonb not null default '{}'::jsonb check (jsonb_typeof(details) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists safety_events_user_created_idx on public.safety_events (user_id, created_at desc);

drop trigger if exists set_updated_at on public.safety_events;
create trigger set_updated_at before update on public.safety_events
  for each row execute function public.set_updated_at();

alter table public.safety_events enable row level security;

revoke all on table public.safety_events from anon, authenticated;
grant select, insert on table public.safety_events to authenticated;
grant all on table public.safety_events to service_role;

drop policy if exists "Users can read their own safety events" on public.safety_events;
create policy "Users can read their own safety events" on public.safety_events
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own safety events" on public.safety_events;
create policy "Users can add their own safety events" on public.safety_events
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

comment on table public.safety_events is 'own: append-only audit log of safety decisions about the user; users may read and add their own rows but never change or delete them, so the log stays trustworthy (service role manages retention)';
