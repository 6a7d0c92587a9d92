-- Ways to earn on the road: curated hustle ideas and videos (catalog), and the user's attempts.
--
-- Re-runnable: every statement is idempotent (if not exists / drop-if-exists / or replace).

-- ===========================================================================
-- public.hustle_ideas  (shared_read)
-- ===========================================================================

create table if not exists public.hustle_ideas (
  id uuid primary key default gen_random_uuid(),
  title text not null check (char_length(title) between 1 and 200),
  description text,
  category text not null default 'other' check (category in ('online', 'content', 'gig', 'trade', 'craft', 'rental', 'other')),
  difficulty text check (difficulty is null or difficulty in ('easy', 'medium', 'hard')),
  startup_cost numeric(12,2) check (startup_cost is null or startup_cost >= 0),
  est_monthly_income numeric(12,2) check (est_monthly_income is null or est_monthly_income >= 0),
  requires_internet boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists hustle_ideas_category_idx on public.hustle_ideas (category);

drop trigger if exists set_updated_at on public.hustle_ideas;
create trigger set_updated_at before update on public.hustle_ideas
  for each row execute function public.set_updated_at();

alter table public.hustle_ideas enable row level security;

revoke all on table public.hustle_ideas from anon, authenticated;
grant select on table public.hustle_ideas to authenticated;
grant all on table public.hustle_ideas to service_role;

drop policy if exists "Signed-in users can read hustle ideas" on public.hustle_ideas;
create policy "Signed-in users can read hustle ideas" on public.hustle_ideas
  for select to authenticated
  using (true);

comment on table public.hustle_ideas is 'shared_read: curated ideas for earning money while travelling';

-- ===========================================================================
-- public.youtube_hustles  (shared_read)
-- ===========================================================================

create table if not exists public.youtube_hustles (
  id uuid primary key default gen_random_uuid(),
  video_id text not null unique check (char_length(video_id) between 1 and 32),
  title text not null check (char_length(title) between 1 and 300),
  channel_name text,
  description text,
  category text,
  duration_seconds integer check (duration_seconds is null or duration_seconds >= 0),
  published_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

drop trigger if exists set_updated_at on public.youtube_hustles;
create trigger set_updated_at before update on public.youtube_hustles
  for each row execute function public.set_updated_at();

alter table public.youtube_hustles enable row level security;

revoke all on table public.youtube_hustles from anon, authenticated;
grant select on table public.youtube_hustles to authenticated;
grant all on table public.youtube_hustles to service_role;

drop policy if exists "Signed-in users can read YouTube hustles" on public.youtube_hustles;
create policy "Signed-in users can read YouTube hustles" on public.youtube_hustles
  for select to authenticated
  using (true);

comment on table public.youtube_hustles is 'shared_read: curated YouTube videos about earning on the road';

-- ===========================================================================
-- public.user_hustle_attempts  (own)
-- ===========================================================================

create table if not exists public.user_hustle_attempts (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  hustle_idea_id uuid not null references public.hustle_ideas (id) on delete cascade,
  status text not null default 'interested' check (status in ('interested', 'trying', 'earning', 'abandoned')),
  started_on date,
  earned_total numeric(12,2) not null default 0 check (earned_total >= 0),
  notes text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint user_hustle_attempts_user_id_hustle_idea_id_key unique (user_id, hustle_idea_id)
);

create index if not exists user_hustle_attempts_hustle_idea_id_idx on public.user_hustle_attempts (hustle_idea_id);

drop trigger if exists set_updated_at on public.user_hustle_attempts;
create trigger set_updated_at before update on public.user_hustle_attempts
  for each row execute function public.set_updated_at();

alter table public.user_hustle_attempts enable row level security;

revoke all on table public.user_hustle_attempts from anon, authenticated;
grant select, insert, update, delete on table public.user_hustle_attempts to authenticated;
grant all on table public.user_hustle_attempts to service_role;

drop policy if exists "Users can read their own hustle attempts" on public.user_hustle_attempts;
create policy "Users can read their own hustle attempts" on public.user_hustle_attempts
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own hustle attempts" on public.user_hustle_attempts;
create policy "Users can add their own hustle attempts" on public.user_hustle_attempts
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own hustle attempts" on public.user_hustle_attempts;
create policy "Users can update their own hustle attempts" on public.user_hustle_attempts
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own hustle attempts" on public.user_hustle_attempts;
create policy "Users can delete their own hustle attempts" on public.user_hustle_attempts
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.user_hustle_attempts is 'own: the hustles a user is trying, and what they earned';
