-- show_trip: one saved trip as the trip map (ui://pam/trip) draws it, for a trip logged earlier
-- (pam://trips lists the ids). The route (up to 5,000 points, 2 MB) never leaves the database
-- whole: at most p_max_points points, evenly spaced by index, the first and the last kept, each
-- as {lat, lon} (and its name, when it has one). route_points says how many the trip has.
--
-- Times in the person's offset (public.pam_zone() read once, public.pam_local_time); the stops
-- all of them (the table caps them), each one's time in that offset too (public.trip_local_stops,
-- 20261202000500_answers_in_local_time.sql). Null when the person has no such trip (row level
-- security makes another person's trip look the same).
--
-- Route points come from pam-mcp (validated) or from Supabase's REST API (not): a point whose
-- lat or lon is not a number is left out rather than failing the read.
--
-- Re-runnable: create or replace, idempotent grants.

create or replace function public.pam_show_trip(p_trip_id uuid, p_max_points integer)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
set timezone to 'UTC'
as $$
declare
  v_zone text := public.pam_zone();
  v_trip public.trips;
  v_route jsonb;
begin
  if p_max_points is null or p_max_points < 2 or p_max_points > 1000 then
    raise exception 'max_points must be a whole number from 2 to 1000' using errcode = 'PAM01';
  end if;
  select * into v_trip from public.trips as t where t.id = p_trip_id;
  if not found then
    return null;
  end if;

  with points as (
    select r.item, (pg_catalog.row_number() over (order by r.ord))::bigint - 1 as i,
           pg_catalog.count(*) over () as n
      from pg_catalog.jsonb_array_elements(v_trip.route) with ordinality as r(item, ord)
     where pg_catalog.jsonb_typeof(r.item) = 'object'
       and pg_catalog.jsonb_typeof(r.item -> 'lat') = 'number'
       and pg_catalog.jsonb_typeof(r.item -> 'lon') = 'number'
  ), kept as (
    -- Every point when they fit; else the indexes round(k (n - 1) / (m - 1)), k = 0 .. m - 1:
    -- distinct (the step is over 1), evenly spaced, 0 and n - 1 among them.
    select p.item, p.i, p.n from points as p
     where p.n <= p_max_points
        or p.i in (select pg_catalog.round(k * (p.n - 1)::numeric / (p_max_points - 1))
                     from pg_catalog.generate_series(0, p_max_points - 1) as k)
  )
  select pg_catalog.jsonb_agg(
           pg_catalog.jsonb_build_object('lat', k.item -> 'lat', 'lon', k.item -> 'lon')
           || case when pg_catalog.jsonb_typeof(k.item -> 'name') = 'string'
                   then pg_catalog.jsonb_build_object('name', k.item -> 'name') else '{}'::jsonb end
           order by k.i)
    into v_route
    from kept as k;

  return pg_catalog.jsonb_build_object(
    'trip_id', v_trip.id,
    'title', v_trip.title,
    'started_at', public.pam_local_time(v_trip.started_at, v_zone),
    'ended_at', public.pam_local_time(v_trip.ended_at, v_zone),
    'under_way', v_trip.ended_at is null,
    'duration_hours', case when v_trip.ended_at is null then null
                           else pg_catalog.round((extract(epoch from v_trip.ended_at - v_trip.started_at) / 3600)::numeric, 2)
                      end,
    'distance_km', v_trip.distance_km,
    'notes', v_trip.notes,
    'stop_count', pg_catalog.jsonb_array_length(v_trip.stops),
    'stops', public.trip_local_stops(v_trip.stops, v_zone, null),
    'route_points', pg_catalog.jsonb_array_length(v_trip.route),
    'route', coalesce(v_route, '[]'::jsonb));
end;
$$;

comment on function public.pam_show_trip(uuid, integer) is
  'One trip of auth.uid() for the trip map: times in the person''s offset, all stops, the route downsampled to at most p_max_points evenly spaced points (first and last kept); null when there is no such trip.';

revoke all on function public.pam_show_trip(uuid, integer) from public, anon, service_role;
grant execute on function public.pam_show_trip(uuid, integer) to authenticated;
