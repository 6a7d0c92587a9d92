-- The person's profile as PAM needs it: units, the RV, and one operation to change it.
--
-- profiles gains the units a person reads distances and volumes in (km|mi, L|gal: gal is the
-- US gallon, 3.785411784 L) and their RV: make, model, fuel type and tank size (in their
-- volume unit). public.pam_update_profile changes only the fields it is given, creates the
-- row when the person has none, and returns the profile before and after, so nothing is
-- overwritten silently. public.pam_profile (pam://profile) shows the new fields.
--
-- Re-runnable: add column if not exists, drop/add constraint, create or replace, idempotent grants.

alter table public.profiles add column if not exists distance_unit text not null default 'km';
alter table public.profiles add column if not exists volume_unit text not null default 'L';
alter table public.profiles add column if not exists rv_make text;
alter table public.profiles add column if not exists rv_model text;
alter table public.profiles add column if not exists fuel_type text;
alter table public.profiles add column if not exists tank_size numeric(7,2);

alter table public.profiles drop constraint if exists profiles_distance_unit_known;
alter table public.profiles add constraint profiles_distance_unit_known check (distance_unit in ('km', 'mi'));
alter table public.profiles drop constraint if exists profiles_volume_unit_known;
alter table public.profiles add constraint profiles_volume_unit_known check (volume_unit in ('L', 'gal'));
alter table public.profiles drop constraint if exists profiles_rv_text_cap;
alter table public.profiles add constraint profiles_rv_text_cap
  check ((rv_make is null or char_length(rv_make) between 1 and 100)
         and (rv_model is null or char_length(rv_model) between 1 and 100));
alter table public.profiles drop constraint if exists profiles_fuel_type_known;
alter table public.profiles add constraint profiles_fuel_type_known
  check (fuel_type is null or fuel_type in ('diesel', 'petrol', 'lpg', 'electric', 'other'));
-- NaN sorts above every number, so the upper bound refuses it too; said explicitly all the same.
alter table public.profiles drop constraint if exists profiles_tank_size_sane;
alter table public.profiles add constraint profiles_tank_size_sane
  check (tank_size is null or (tank_size <> 'NaN' and tank_size > 0 and tank_size <= 2000));

comment on column public.profiles.distance_unit is 'How the person reads distances: km or mi (stored distances stay in km).';
comment on column public.profiles.volume_unit is 'How the person reads fuel volumes: L or gal (US gallon).';
comment on column public.profiles.rv_make is 'The RV''s make, e.g. Jayco.';
comment on column public.profiles.rv_model is 'The RV''s model, e.g. Conquest.';
comment on column public.profiles.fuel_type is 'What the RV runs on: diesel, petrol, lpg, electric or other.';
comment on column public.profiles.tank_size is 'The RV''s fuel tank, in the person''s volume_unit.';

-- ---------------------------------------------------------------------------
-- The profile as every operation shows it (one place for its keys).
-- ---------------------------------------------------------------------------
create or replace function public.profile_document(p public.profiles)
returns jsonb
language sql
immutable
security invoker
set search_path = ''
as $$
  select pg_catalog.jsonb_build_object(
           'display_name', p.display_name, 'country_code', p.country_code, 'timezone', p.timezone,
           'currency', p.currency, 'home_base', p.home_base, 'rv_type', p.rv_type, 'rv_length_m', p.rv_length_m,
           'preferences', p.preferences, 'distance_unit', p.distance_unit, 'volume_unit', p.volume_unit,
           'rv_make', p.rv_make, 'rv_model', p.rv_model, 'fuel_type', p.fuel_type, 'tank_size', p.tank_size)
$$;

create or replace function public.pam_profile()
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select public.profile_document(p) from public.profiles as p where p.id = (select auth.uid())
$$;

-- ---------------------------------------------------------------------------
-- update_profile: a null argument leaves its field alone; p_clear names fields to empty.
-- ---------------------------------------------------------------------------
create or replace function public.pam_update_profile(
  p_display_name text, p_country_code text, p_currency text, p_timezone text, p_distance_unit text,
  p_volume_unit text, p_rv_make text, p_rv_model text, p_fuel_type text, p_tank_size numeric, p_clear text[],
  p_now timestamptz
)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_uid uuid := (select auth.uid());
  v_clear text[] := coalesce(p_clear, '{}');
  v_before public.profiles;
  v_after public.profiles;
  v_bad text;
  v_country text := pg_catalog.upper(p_country_code);
  v_currency text := pg_catalog.upper(p_currency);
  v_tank numeric := p_tank_size;
  v_created boolean := false;
begin
  if v_uid is null then
    raise exception 'update_profile needs a signed-in person' using errcode = '42501';
  end if;
  select c into v_bad from pg_catalog.unnest(v_clear) as c
   where c not in ('display_name', 'country_code', 'timezone', 'rv_make', 'rv_model', 'fuel_type', 'tank_size')
   limit 1;
  if v_bad is not null then
    raise exception 'clear: % cannot be cleared; clear one of display_name, country_code, timezone, rv_make, rv_model, fuel_type, tank_size (currency and units can only be changed)',
      pg_catalog.left(v_bad, 40) using errcode = 'PAM01';
  end if;
  if p_display_name is not null and pg_catalog.char_length(p_display_name) not between 1 and 100 then
    raise exception 'display_name must be 1 to 100 characters' using errcode = 'PAM01';
  end if;
  if v_country is not null and v_country !~ '^[A-Z]{2}$' then
    raise exception 'country_code must be an ISO 3166-1 alpha-2 code of two letters, e.g. AU or US' using errcode = 'PAM01';
  end if;
  if v_currency is not null and v_currency !~ '^[A-Z]{3}$' then
    raise exception 'currency must be an ISO 4217 code of three letters, e.g. AUD or USD' using errcode = 'PAM01';
  end if;
  if p_timezone is not null and not public.is_time_zone_name(p_timezone) then
    raise exception 'timezone must be an IANA time zone name, e.g. Australia/Sydney or America/Denver (case matters)'
      using errcode = 'PAM01';
  end if;
  if p_distance_unit is not null and p_distance_unit not in ('km', 'mi') then
    raise exception 'distance_unit must be km or mi' using errcode = 'PAM01';
  end if;
  if p_volume_unit is not null and p_volume_unit not in ('L', 'gal') then
    raise exception 'volume_unit must be L or gal' using errcode = 'PAM01';
  end if;
  if (p_rv_make is not null and pg_catalog.char_length(p_rv_make) not between 1 and 100)
     or (p_rv_model is not null and pg_catalog.char_length(p_rv_model) not between 1 and 100) then
    raise exception 'rv_make and rv_model must be 1 to 100 characters' using errcode = 'PAM01';
  end if;
  if p_fuel_type is not null and p_fuel_type not in ('diesel', 'petrol', 'lpg', 'electric', 'other') then
    raise exception 'fuel_type must be one of diesel, petrol, lpg, electric, other' using errcode = 'PAM01';
  end if;
  if v_tank is not null and (v_tank = 'NaN' or v_tank <= 0 or v_tank > 2000) then
    raise exception 'tank_size must be a number above 0 and at most 2000 (in the volume unit)' using errcode = 'PAM01';
  end if;

  -- The row, created when missing (with the table's defaults), then locked: two updates at
  -- once each see the other's result as their "before".
  insert into public.profiles as p (id) values (v_uid) on conflict (id) do nothing returning true into v_created;
  v_created := coalesce(v_created, false);
  select * into v_before from public.profiles as p where p.id = v_uid for update;

  -- A tank size kept across a change of volume unit is converted, so it still says how much
  -- the tank holds.
  if v_tank is null and not ('tank_size' = any (v_clear)) and v_before.tank_size is not null
     and p_volume_unit is not null and p_volume_unit <> v_before.volume_unit then
    v_tank := pg_catalog.round(case p_volume_unit when 'gal' then v_before.tank_size / 3.785411784
                                                  else v_before.tank_size * 3.785411784 end, 2);
  end if;

  update public.profiles as p set
    display_name = case when 'display_name' = any (v_clear) then null else coalesce(p_display_name, p.display_name) end,
    country_code = case when 'country_code' = any (v_clear) then null else coalesce(v_country, p.country_code) end,
    timezone = case when 'timezone' = any (v_clear) then null else coalesce(p_timezone, p.timezone) end,
    currency = coalesce(v_currency, p.currency),
    distance_unit = coalesce(p_distance_unit, p.distance_unit),
    volume_unit = coalesce(p_volume_unit, p.volume_unit),
    rv_make = case when 'rv_make' = any (v_clear) then null else coalesce(p_rv_make, p.rv_make) end,
    rv_model = case when 'rv_model' = any (v_clear) then null else coalesce(p_rv_model, p.rv_model) end,
    fuel_type = case when 'fuel_type' = any (v_clear) then null else coalesce(p_fuel_type, p.fuel_type) end,
    tank_size = case when 'tank_size' = any (v_clear) then null else coalesce(v_tank, p.tank_size) end
   where p.id = v_uid
  returning * into v_after;

  return pg_catalog.jsonb_build_object(
    'created', v_created,
    'before', case when v_created then null else public.profile_document(v_before) end,
    'after', public.profile_document(v_after),
    'today', (public.pam_today(p_now)).today);
end;
$$;

comment on function public.profile_document(public.profiles) is
  'A profile row as pam-mcp shows it (one place for its keys).';
comment on function public.pam_profile() is
  'The profile of auth.uid(), or null.';
comment on function public.pam_update_profile(text, text, text, text, text, text, text, text, text, numeric, text[], timestamptz) is
  'Changes the given fields of auth.uid()''s profile (null: unchanged; p_clear: emptied), creating it when missing; returns before and after.';

revoke all on function public.profile_document(public.profiles) from public, anon, service_role;
grant execute on function public.profile_document(public.profiles) to authenticated;
revoke all on function public.pam_update_profile(text, text, text, text, text, text, text, text, text, numeric, text[], timestamptz)
  from public, anon, service_role;
grant execute on function public.pam_update_profile(text, text, text, text, text, text, text, text, text, numeric, text[], timestamptz)
  to authenticated;
