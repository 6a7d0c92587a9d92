-- Only members of a group may post into it.
--
-- Until now any signed-in person could write a social post with any group_id, and so post
-- into groups they never joined. The insert and update policies of social_posts now also
-- require, for a post with a group_id, a group_memberships row of the author for that group.
-- The EXISTS is answered from the unique index on group_memberships (group_id, user_id);
-- auth.uid() is wrapped in (select ...) so it is evaluated once per statement. An update
-- cannot move a post into a group the author has not joined, nor edit a post in a group
-- they have left (deleting it stays possible). Posts without a group are unchanged; posts
-- already in groups stay where they are.
--
-- Re-runnable: drop policy if exists, then create.

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
