-- Analytics (service role only), the user's live recommendations, and the TTS audio cache.
-- Analytics rows may outlive the user (user_id is set null when the user is deleted).
--
-- Re-runnable: every statement is idempotent (if not exists / drop-if-exists / or replace).

-- ===========================================================================
-- public.pam_analytics_logs  (service_only)
-- ===========================================================================

create table if not exists public.pam_analytics_logs (
  id uuid primary key default gen_random_uuid(),
  user_id uuid references auth.users (id) on delete set null,
  event_type text not null check (char_length(event_type) between 1 and 100),
  tool_name text,
  duration_ms integer check (duration_ms is null or duration_ms >= 0),
  success boolean,
  payload jsonb not null default '{}'::jsonb check (jsonb_typeof(payload) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists pam_analytics_logs_user_created_idx on public.pam_analytics_logs (user_id, created_at desc);

create index if not exists pam_analytics_logs_event_created_idx on public.pam_analytics_logs (event_type, created_at desc);

drop trigger if exists set_updated_at on public.pam_analytics_logs;
create trigger set_updated_at before update on public.pam_analytics_logs
  for each row execute function public.set_updated_at();

alter table public.pam_analytics_logs enable row level security;

revoke all on table public.pam_analytics_logs from anon, authenticated;
grant all on table public.pam_analytics_logs to service_role;

drop policy if exists "Only the service role can access PAM analytics logs" on public.pam_analytics_logs;
create policy "Only the service role can access PAM analytics logs" on public.pam_analytics_logs
  for all to service_role
  using (true)
  with check (true);

comment on table public.pam_analytics_logs is 'service_only: raw PAM usage events (tool calls, timings, outcomes)';

-- ===========================================================================
-- public.analytics_summary  (service_only)
-- ===========================================================================

create table if not exists public.analytics_summary (
  id uuid primary key default gen_random_uuid(),
  metric text not null check (char_length(metric) between 1 and 100),
  period text not null check (period in ('day', 'week', 'month', 'all_time')),
  period_start date not null,
  value numeric not null,
  details jsonb not null default '{}'::jsonb check (jsonb_typeof(details) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint analytics_summary_metric_period_key unique (metric, period, period_start)
);

drop trigger if exists set_updated_at on public.analytics_summary;
create trigger set_updated_at before update on public.analytics_summary
  for each row execute function public.set_updated_at();

alter table public.analytics_summary enable row level security;

revoke all on table public.analytics_summary from anon, authenticated;
grant all on table public.analytics_summary to service_role;

drop policy if exists "Only the service role can access analytics summaries" on public.analytics_summary;
create policy "Only the service role can access analytics summaries" on public.analytics_summary
  for all to service_role
  using (true)
  with check (true);

comment on table public.analytics_summary is 'service_only: aggregated metrics per period';

-- ===========================================================================
-- public.analytics_daily  (service_only)
-- ===========================================================================

create table if not exists public.analytics_daily (
  id uuid primary key default gen_random_uuid(),
  day date not null,
  metric text not null check (char_length(metric) between 1 and 100),
  value numeric not null default 0,
  details jsonb not null default '{}'::jsonb check (jsonb_typeof(details) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint analytics_daily_day_metric_key unique (day, metric)
);

drop trigger if exists set_updated_at on public.analytics_daily;
create trigger set_updated_at before update on public.analytics_daily
  for each row execute function public.set_updated_at();

alter table public.analytics_daily enable row level security;

revoke all on table public.analytics_daily from anon, authenticated;
grant all on table public.analytics_daily to service_role;

drop policy if exists "Only the service role can access daily analytics" on public.analytics_daily;
create policy "Only the service role can access daily analytics" on public.analytics_daily
  for all to service_role
  using (true)
  with check (true);

comment on table public.analytics_daily is 'service_only: one value per metric and day';

-- ===========================================================================
-- public.active_recommendations  (own)
-- ===========================================================================

create table if not exists public.active_recommendations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  kind text not null default 'other' check (kind in ('saving', 'route', 'campground', 'fuel', 'maintenance', 'budget', 'hustle', 'other')),
  title text not null check (char_length(title) between 1 and 200),
  body text,
  payload jsonb not null default '{}'::jsonb check (jsonb_typeof(payload) = 'object'),
  priority smallint not null default 5 check (priority between 1 and 10),
  expires_at timestamptz,
  dismissed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists active_recommendations_user_created_idx on public.active_recommendations (user_id, created_at desc);

drop trigger if exists set_updated_at on public.active_recommendations;
create trigger set_updated_at before update on public.active_recommendations
  for each row execute function public.set_updated_at();

alter table public.active_recommendations enable row level security;

revoke all on table public.active_recommendations from anon, authenticated;
grant select, insert, update, delete on table public.active_recommendations to authenticated;
grant all on table public.active_recommendations to service_role;

drop policy if exists "Users can read their own recommendations" on public.active_recommendations;
create policy "Users can read their own recommendations" on public.active_recommendations
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own recommendations" on public.active_recommendations;
create policy "Users can add their own recommendations" on public.active_recommendations
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own recommendations" on public.active_recommendations;
create policy "Users can update their own recommendations" on public.active_recommendations
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own recommendations" on public.active_recommendations;
create policy "Users can delete their own recommendations" on public.active_recommendations
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.active_recommendations is 'own: recommendations PAM is currently showing the user';

-- ===========================================================================
-- public.audio_cache  (service_only)
-- ===========================================================================

create table if not exists public.audio_cache (
  id uuid primary key default gen_random_uuid(),
  cache_key text not null unique check (char_length(cache_key) between 1 and 200),
  text_content text not null,
  voice text not null,
  format text not null default 'mp3' check (format in ('mp3', 'wav', 'ogg', 'opus')),
  storage_path text not null,
  byte_size integer check (byte_size is null or byte_size >= 0),
  hit_count integer not null default 0 check (hit_count >= 0),
  last_accessed_at timestamptz,
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists audio_cache_expires_at_idx on public.audio_cache (expires_at);

drop trigger if exists set_updated_at on public.audio_cache;
create trigger set_updated_at before update on public.audio_cache
  for each row execute function public.set_updated_at();

alter table public.audio_cache enable row level security;

revoke all on table public.audio_cache from anon, authenticated;
grant all on table public.audio_cache to service_role;

drop policy if exists "Only the service role can access audio cache" on public.audio_cache;
create policy "Only the service role can access audio cache" on public.audio_cache
  for all to service_role
  using (true)
  with check (true);

comment on table public.audio_cache is 'service_only: cached text-to-speech audio, keyed by a hash of text and voice';
