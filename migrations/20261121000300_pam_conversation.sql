-- PAM's conversation engine and memory (playbook phases 2 and 3, plus the backend's
-- conversation, memory and context tables).
--
-- Seed defects fixed: pam_sessions and pam_messages get UPDATE/DELETE policies, NOT NULL
-- owner/content/role columns, JSONB object checks and indexes; a message's session must
-- belong to the same user (composite foreign key), so nobody can attach rows to another
-- user's session by guessing its id.
--
-- Re-runnable: every statement is idempotent (if not exists / drop-if-exists / or replace).

-- ===========================================================================
-- public.pam_sessions  (own)
-- ===========================================================================

create table if not exists public.pam_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  context jsonb not null default '{}'::jsonb check (jsonb_typeof(context) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint pam_sessions_id_user_id_key unique (id, user_id)
);

create index if not exists pam_sessions_user_updated_idx on public.pam_sessions (user_id, updated_at desc);

drop trigger if exists set_updated_at on public.pam_sessions;
create trigger set_updated_at before update on public.pam_sessions
  for each row execute function public.set_updated_at();

alter table public.pam_sessions enable row level security;

revoke all on table public.pam_sessions from anon, authenticated;
grant select, insert, update, delete on table public.pam_sessions to authenticated;
grant all on table public.pam_sessions to service_role;

drop policy if exists "Users can read their own PAM sessions" on public.pam_sessions;
create policy "Users can read their own PAM sessions" on public.pam_sessions
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own PAM sessions" on public.pam_sessions;
create policy "Users can add their own PAM sessions" on public.pam_sessions
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own PAM sessions" on public.pam_sessions;
create policy "Users can update their own PAM sessions" on public.pam_sessions
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own PAM sessions" on public.pam_sessions;
create policy "Users can delete their own PAM sessions" on public.pam_sessions
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.pam_sessions is 'own: a PAM conversation session and its working context (JSON object)';

-- ===========================================================================
-- public.pam_messages  (own)
-- ===========================================================================

create table if not exists public.pam_messages (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  session_id uuid not null,
  role text not null check (role in ('user', 'pam')),
  content text not null,
  metadata jsonb not null default '{}'::jsonb check (jsonb_typeof(metadata) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint pam_messages_session_fkey foreign key (session_id, user_id)
    references public.pam_sessions (id, user_id) on delete cascade
);

create index if not exists pam_messages_user_session_created_idx on public.pam_messages (user_id, session_id, created_at desc);

drop trigger if exists set_updated_at on public.pam_messages;
create trigger set_updated_at before update on public.pam_messages
  for each row execute function public.set_updated_at();

alter table public.pam_messages enable row level security;

revoke all on table public.pam_messages from anon, authenticated;
grant select, insert, update, delete on table public.pam_messages to authenticated;
grant all on table public.pam_messages to service_role;

drop policy if exists "Users can read their own PAM messages" on public.pam_messages;
create policy "Users can read their own PAM messages" on public.pam_messages
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own PAM messages" on public.pam_messages;
create policy "Users can add their own PAM messages" on public.pam_messages
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own PAM messages" on public.pam_messages;
create policy "Users can update their own PAM messages" on public.pam_messages
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own PAM messages" on public.pam_messages;
create policy "Users can delete their own PAM messages" on public.pam_messages
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.pam_messages is 'own: the messages of a PAM session, from the user or from PAM';

-- ===========================================================================
-- public.pam_conversation_sessions  (own)
-- ===========================================================================

create table if not exists public.pam_conversation_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  title text check (title is null or char_length(title) <= 200),
  channel text not null default 'chat' check (channel in ('chat', 'voice', 'mcp', 'other')),
  started_at timestamptz not null default now(),
  ended_at timestamptz,
  message_count integer not null default 0 check (message_count >= 0),
  context jsonb not null default '{}'::jsonb check (jsonb_typeof(context) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint pam_conversation_sessions_id_user_id_key unique (id, user_id),
  check (ended_at is null or ended_at >= started_at)
);

create index if not exists pam_conversation_sessions_user_started_idx on public.pam_conversation_sessions (user_id, started_at desc);

drop trigger if exists set_updated_at on public.pam_conversation_sessions;
create trigger set_updated_at before update on public.pam_conversation_sessions
  for each row execute function public.set_updated_at();

alter table public.pam_conversation_sessions enable row level security;

revoke all on table public.pam_conversation_sessions from anon, authenticated;
grant select, insert, update, delete on table public.pam_conversation_sessions to authenticated;
grant all on table public.pam_conversation_sessions to service_role;

drop policy if exists "Users can read their own conversation sessions" on public.pam_conversation_sessions;
create policy "Users can read their own conversation sessions" on public.pam_conversation_sessions
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own conversation sessions" on public.pam_conversation_sessions;
create policy "Users can add their own conversation sessions" on public.pam_conversation_sessions
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own conversation sessions" on public.pam_conversation_sessions;
create policy "Users can update their own conversation sessions" on public.pam_conversation_sessions
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own conversation sessions" on public.pam_conversation_sessions;
create policy "Users can delete their own conversation sessions" on public.pam_conversation_sessions
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.pam_conversation_sessions is 'own: conversation sessions as the PAM backend tracks them (channel, timing, counters)';

-- ===========================================================================
-- public.pam_conversation_memory  (own)
-- ===========================================================================

create table if not exists public.pam_conversation_memory (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  session_id uuid,
  role text not null check (role in ('user', 'pam', 'system')),
  content text not null,
  intent text,
  context jsonb not null default '{}'::jsonb check (jsonb_typeof(context) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint pam_conversation_memory_session_fkey foreign key (session_id, user_id)
    references public.pam_conversation_sessions (id, user_id) on delete cascade
);

create index if not exists pam_conversation_memory_user_session_created_idx on public.pam_conversation_memory (user_id, session_id, created_at desc);

create index if not exists pam_conversation_memory_user_created_idx on public.pam_conversation_memory (user_id, created_at desc);

drop trigger if exists set_updated_at on public.pam_conversation_memory;
create trigger set_updated_at before update on public.pam_conversation_memory
  for each row execute function public.set_updated_at();

alter table public.pam_conversation_memory enable row level security;

revoke all on table public.pam_conversation_memory from anon, authenticated;
grant select, insert, update, delete on table public.pam_conversation_memory to authenticated;
grant all on table public.pam_conversation_memory to service_role;

drop policy if exists "Users can read their own conversation memory" on public.pam_conversation_memory;
create policy "Users can read their own conversation memory" on public.pam_conversation_memory
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own conversation memory" on public.pam_conversation_memory;
create policy "Users can add their own conversation memory" on public.pam_conversation_memory
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own conversation memory" on public.pam_conversation_memory;
create policy "Users can update their own conversation memory" on public.pam_conversation_memory
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own conversation memory" on public.pam_conversation_memory;
create policy "Users can delete their own conversation memory" on public.pam_conversation_memory
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.pam_conversation_memory is 'own: conversation history PAM keeps for context (one row per turn)';

-- ===========================================================================
-- public.pam_memory  (own)
-- ===========================================================================

create table if not exists public.pam_memory (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  key text not null check (char_length(key) between 1 and 200),
  value jsonb not null,
  memory_type text not null default 'fact' check (memory_type in ('fact', 'preference', 'reminder', 'note')),
  importance smallint not null default 5 check (importance between 1 and 10),
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint pam_memory_user_id_key_key unique (user_id, key)
);

drop trigger if exists set_updated_at on public.pam_memory;
create trigger set_updated_at before update on public.pam_memory
  for each row execute function public.set_updated_at();

alter table public.pam_memory enable row level security;

revoke all on table public.pam_memory from anon, authenticated;
grant select, insert, update, delete on table public.pam_memory to authenticated;
grant all on table public.pam_memory to service_role;

drop policy if exists "Users can read their own memories" on public.pam_memory;
create policy "Users can read their own memories" on public.pam_memory
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own memories" on public.pam_memory;
create policy "Users can add their own memories" on public.pam_memory
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own memories" on public.pam_memory;
create policy "Users can update their own memories" on public.pam_memory
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own memories" on public.pam_memory;
create policy "Users can delete their own memories" on public.pam_memory
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.pam_memory is 'own: long-term facts and preferences PAM remembers about the user, one value per key';

-- ===========================================================================
-- public.pam_user_context  (own)
-- ===========================================================================

create table if not exists public.pam_user_context (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  context_type text not null check (char_length(context_type) between 1 and 100),
  context_data jsonb not null default '{}'::jsonb check (jsonb_typeof(context_data) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint pam_user_context_user_id_context_type_key unique (user_id, context_type)
);

drop trigger if exists set_updated_at on public.pam_user_context;
create trigger set_updated_at before update on public.pam_user_context
  for each row execute function public.set_updated_at();

alter table public.pam_user_context enable row level security;

revoke all on table public.pam_user_context from anon, authenticated;
grant select, insert, update, delete on table public.pam_user_context to authenticated;
grant all on table public.pam_user_context to service_role;

drop policy if exists "Users can read their own context" on public.pam_user_context;
create policy "Users can read their own context" on public.pam_user_context
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own context" on public.pam_user_context;
create policy "Users can add their own context" on public.pam_user_context
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own context" on public.pam_user_context;
create policy "Users can update their own context" on public.pam_user_context
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own context" on public.pam_user_context;
create policy "Users can delete their own context" on public.pam_user_context
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.pam_user_context is 'own: named blocks of user context (one JSON object per context_type)';

-- ===========================================================================
-- public.chat_sessions  (own)
-- ===========================================================================

create table if not exists public.chat_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  title text check (title is null or char_length(title) <= 200),
  status text not null default 'active' check (status in ('active', 'closed')),
  last_message_at timestamptz,
  metadata jsonb not null default '{}'::jsonb check (jsonb_typeof(metadata) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists chat_sessions_user_created_idx on public.chat_sessions (user_id, created_at desc);

drop trigger if exists set_updated_at on public.chat_sessions;
create trigger set_updated_at before update on public.chat_sessions
  for each row execute function public.set_updated_at();

alter table public.chat_sessions enable row level security;

revoke all on table public.chat_sessions from anon, authenticated;
grant select, insert, update, delete on table public.chat_sessions to authenticated;
grant all on table public.chat_sessions to service_role;

drop policy if exists "Users can read their own chat sessions" on public.chat_sessions;
create policy "Users can read their own chat sessions" on public.chat_sessions
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own chat sessions" on public.chat_sessions;
create policy "Users can add their own chat sessions" on public.chat_sessions
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own chat sessions" on public.chat_sessions;
create policy "Users can update their own chat sessions" on public.chat_sessions
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own chat sessions" on public.chat_sessions;
create policy "Users can delete their own chat sessions" on public.chat_sessions
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.chat_sessions is 'own: chat sessions of the app chat UI';
