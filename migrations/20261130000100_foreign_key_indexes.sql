-- Foreign key indexes in the foreign keys' own column order.
--
-- Supabase's database linter (splinter, rule 0001 unindexed_foreign_keys) counts a foreign
-- key as covered only when its columns, in its order, lead one valid index. The composite
-- keys that tie a row to its owner's session or trip are (session_id, user_id) and
-- (trip_id, user_id), but their indexes were led by user_id, so the linter reported:
--   expenses_trip_fkey (trip_id, user_id)
--   pam_messages_session_fkey (session_id, user_id)
--   pam_conversation_memory_session_fkey (session_id, user_id)
-- Each such index is replaced by one with the same columns, the key's two first. The reads
-- they serve filter on both columns with equality (and order by created_at), so the new
-- order serves them as well. The single-column user_id keys stay covered: by
-- expenses_user_spent_on_idx and pam_conversation_memory_user_created_idx, and for
-- pam_messages, whose only index this was, by a new index on (user_id).
--
-- Re-runnable: create index if not exists, drop index if exists.

create index if not exists expenses_trip_user_idx on public.expenses (trip_id, user_id);
drop index if exists public.expenses_user_trip_idx;

create index if not exists pam_messages_session_user_created_idx
  on public.pam_messages (session_id, user_id, created_at desc);
create index if not exists pam_messages_user_idx on public.pam_messages (user_id);
drop index if exists public.pam_messages_user_session_created_idx;

create index if not exists pam_conversation_memory_session_user_created_idx
  on public.pam_conversation_memory (session_id, user_id, created_at desc);
drop index if exists public.pam_conversation_memory_user_session_created_idx;
