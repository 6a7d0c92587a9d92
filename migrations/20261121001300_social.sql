-- Community: groups (user_id = the creator), memberships (a user's own), posts.
-- Groups and posts are readable by every signed-in user; only the author may change them.
--
-- Re-runnable: every statement is idempotent (if not exists / drop-if-exists / or replace).

-- ===========================================================================
-- public.social_groups  (community)
-- ===========================================================================

create table if not exists public.social_groups (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  name text not null check (char_length(name) between 1 and 100),
  description text,
  region text,
  avatar_url text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists social_groups_user_id_idx on public.social_groups (user_id);

drop trigger if exists set_updated_at on public.social_groups;
create trigger set_updated_at before update on public.social_groups
  for each row execute function public.set_updated_at();

alter table public.social_groups enable row level security;

revoke all on table public.social_groups from anon, authenticated;
grant select, insert, update, delete on table public.social_groups to authenticated;
grant all on table public.social_groups to service_role;

drop policy if exists "Signed-in users can read groups" on public.social_groups;
create policy "Signed-in users can read groups" on public.social_groups
  for select to authenticated
  using (true);

drop policy if exists "Authors can add their own groups" on public.social_groups;
create policy "Authors can add their own groups" on public.social_groups
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Authors can update their own groups" on public.social_groups;
create policy "Authors can update their own groups" on public.social_groups
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Authors can delete their own groups" on public.social_groups;
create policy "Authors can delete their own groups" on public.social_groups
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.social_groups is 'community: groups travellers can join; user_id is the creator';

-- ===========================================================================
-- public.group_memberships  (own)
-- ===========================================================================

create table if not exists public.group_memberships (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  group_id uuid not null references public.social_groups (id) on delete cascade,
  notify boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint group_memberships_group_id_user_id_key unique (group_id, user_id)
);

create index if not exists group_memberships_user_id_idx on public.group_memberships (user_id);

drop trigger if exists set_updated_at on public.group_memberships;
create trigger set_updated_at before update on public.group_memberships
  for each row execute function public.set_updated_at();

alter table public.group_memberships enable row level security;

revoke all on table public.group_memberships from anon, authenticated;
grant select, insert, update, delete on table public.group_memberships to authenticated;
grant all on table public.group_memberships to service_role;

drop policy if exists "Users can read their own group memberships" on public.group_memberships;
create policy "Users can read their own group memberships" on public.group_memberships
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own group memberships" on public.group_memberships;
create policy "Users can add their own group memberships" on public.group_memberships
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own group memberships" on public.group_memberships;
create policy "Users can update their own group memberships" on public.group_memberships
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own group memberships" on public.group_memberships;
create policy "Users can delete their own group memberships" on public.group_memberships
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.group_memberships is 'own: which groups the user has joined (one row per group)';

-- ===========================================================================
-- public.social_posts  (community)
-- ===========================================================================

create table if not exists public.social_posts (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  group_id uuid references public.social_groups (id) on delete cascade,
  content text not null check (char_length(content) between 1 and 10000),
  image_url text,
  location text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists social_posts_user_created_idx on public.social_posts (user_id, created_at desc);

create index if not exists social_posts_group_created_idx on public.social_posts (group_id, created_at desc);

create index if not exists social_posts_created_idx on public.social_posts (created_at desc);

drop trigger if exists set_updated_at on public.social_posts;
create trigger set_updated_at before update on public.social_posts
  for each row execute function public.set_updated_at();

alter table public.social_posts enable row level security;

revoke all on table public.social_posts from anon, authenticated;
grant select, insert, update, delete on table public.social_posts to authenticated;
grant all on table public.social_posts to service_role;

drop policy if exists "Signed-in users can read posts" on public.social_posts;
create policy "Signed-in users can read posts" on public.social_posts
  for select to authenticated
  using (true);

drop policy if exists "Authors can add their own posts" on public.social_posts;
create policy "Authors can add their own posts" on public.social_posts
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Authors can update their own posts" on public.social_posts;
create policy "Authors can update their own posts" on public.social_posts
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Authors can delete their own posts" on public.social_posts;
create policy "Authors can delete their own posts" on public.social_posts
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.social_posts is 'community: posts by travellers, optionally in a group; readable by all signed-in users';
