-- Only members of a group may post into it, and joining a private group takes its creator.
--
-- Until now any signed-in person could write a social post with any group_id, and so post
-- into groups they never joined; and "members only" protected nothing, because anyone could
-- insert their own membership of any group, or move a membership row to another group.
-- From here on:
--   * a group is open (the default) or private (social_groups.is_private, set by its creator);
--   * a person may join (insert their own membership of) an open group, or a private group
--     they created;
--   * the creator of a private group adds other people to it, with add_group_member() or a
--     plain insert (the insert policy allows exactly that); the service role, which bypasses
--     RLS, may too;
--   * a membership never moves: people may update only its notify flag (column privileges),
--     so its group_id and user_id stay as written;
--   * the insert and update policies of social_posts require, for a post with a group_id, a
--     membership of the author in that group. An update cannot move a post into a group the
--     author has not joined, nor edit a post in a group they have left (deleting it stays
--     possible). Posts without a group are unchanged; posts already in groups stay.
-- Each EXISTS is answered from a unique index (social_groups' primary key, group_memberships
-- (group_id, user_id)); auth.uid() is wrapped in (select ...) so it is evaluated once per
-- statement.
--
-- Re-runnable: add column if not exists, drop policy if exists, create or replace.

-- ---------------------------------------------------------------------------
-- Groups: open or private
-- ---------------------------------------------------------------------------

alter table public.social_groups add column if not exists is_private boolean not null default false;

comment on column public.social_groups.is_private is
  'true: only the creator joins by themselves; the creator adds everyone else (add_group_member)';

-- ---------------------------------------------------------------------------
-- Memberships: who may join, and a membership never moves
-- ---------------------------------------------------------------------------

-- One insert policy: either my own membership of an open group (or of a private group I
-- created), or anyone's membership of a private group I created.
drop policy if exists "Users can add their own group memberships" on public.group_memberships;
drop policy if exists "Users join open groups; creators add to private groups" on public.group_memberships;
create policy "Users join open groups; creators add to private groups" on public.group_memberships
  for insert to authenticated
  with check (
    exists (
      select 1 from public.social_groups as g
       where g.id = group_memberships.group_id
         and (
           (g.user_id = (select auth.uid()) and (g.is_private or group_memberships.user_id = (select auth.uid())))
           or (not g.is_private and group_memberships.user_id = (select auth.uid()))
         )
    )
  );

-- People change only whether they are notified; group_id and user_id are fixed once written.
revoke update on table public.group_memberships from authenticated;
grant update (notify) on table public.group_memberships to authenticated;

comment on table public.group_memberships is
  'own: which groups the user has joined (one row per group); private groups only through their creator';

-- SECURITY INVOKER: the insert policy above already lets a private group's creator add a
-- member, so the function needs no rights of its own; it exists to say plainly why a call
-- is refused (the policy alone would answer only "row-level security").
create or replace function public.add_group_member(p_group_id uuid, p_user_id uuid)
returns void
language plpgsql
security invoker
set search_path = ''
as $$
declare
  v_group record;
begin
  select g.user_id, g.is_private into v_group from public.social_groups as g where g.id = p_group_id;
  if not found then
    raise exception 'add_group_member: group % does not exist', p_group_id
      using errcode = '23503';
  end if;
  if v_group.user_id is distinct from (select auth.uid()) then
    raise exception 'add_group_member: only the creator of group % may add members', p_group_id
      using errcode = '42501';
  end if;
  if not v_group.is_private then
    raise exception 'add_group_member: group % is open; people join it themselves', p_group_id
      using errcode = '22023', hint = 'Add members only to private groups (social_groups.is_private).';
  end if;
  -- No conflict target: with one (group_id, user_id), PostgreSQL also checks the new row
  -- against the SELECT policy, which shows people only their own memberships, and refuses.
  -- The only other unique key is the random id, so the pair is what conflicts.
  insert into public.group_memberships (group_id, user_id)
  values (p_group_id, p_user_id)
  on conflict do nothing;
end;
$$;

comment on function public.add_group_member(uuid, uuid) is
  'The creator of a private group adds a person to it (a no-op when they are a member already).';

revoke execute on function public.add_group_member(uuid, uuid) from public, anon;
grant execute on function public.add_group_member(uuid, uuid) to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- Posts: members only
-- ---------------------------------------------------------------------------

drop policy if exists "Authors can add their own posts" on public.social_posts;
create policy "Authors can add their own posts" on public.social_posts
  for insert to authenticated
  with check (
    (select auth.uid()) = user_id
    and (
      group_id is null
      or exists (
        select 1 from public.group_memberships as m
         where m.group_id = social_posts.group_id and m.user_id = (select auth.uid())
      )
    )
  );

drop policy if exists "Authors can update their own posts" on public.social_posts;
create policy "Authors can update their own posts" on public.social_posts
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check (
    (select auth.uid()) = user_id
    and (
      group_id is null
      or exists (
        select 1 from public.group_memberships as m
         where m.group_id = social_posts.group_id and m.user_id = (select auth.uid())
      )
    )
  );

comment on table public.social_posts is
  'community: posts by travellers, optionally in a group (members only); readable by all signed-in users';
