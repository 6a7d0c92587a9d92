-- Rules the operations of issue 11 check, held by the tables too: on Supabase people can write
-- these tables through the REST API without pam-mcp, and what must hold holds there as well.
--
--   * a fill-up's cost agrees with its volume and unit price (pam_log_fillup allows 0.02 in the
--     person's units; the stored litres and price per litre keep 3 and 4 decimals, so the bound
--     grows by their rounding);
--   * names a person reads back are not blank: a service, an event's title, an income's source;
--   * a service's next-due reading is not before the reading it was done at.
--
-- NOT VALID: enforced for every new or changed row; rows written before (a project's own data)
-- are left to be fixed by their owners. Re-runnable: each constraint is dropped and added again.

alter table public.fuel_log drop constraint if exists fuel_log_cost_matches_volume;
alter table public.fuel_log add constraint fuel_log_cost_matches_volume check (
  pg_catalog.abs(liters * price_per_liter - total_cost) <= 0.03 + 0.0001 * liters + 0.0005 * price_per_liter
) not valid;

alter table public.maintenance_records drop constraint if exists maintenance_records_service_not_blank;
alter table public.maintenance_records add constraint maintenance_records_service_not_blank
  check (pg_catalog.btrim(service_type) <> '') not valid;

alter table public.maintenance_records drop constraint if exists maintenance_records_next_due_after_done;
alter table public.maintenance_records add constraint maintenance_records_next_due_after_done
  check (next_due_km is null or odometer_km is null or next_due_km >= odometer_km) not valid;

alter table public.calendar_events drop constraint if exists calendar_events_title_not_blank;
alter table public.calendar_events add constraint calendar_events_title_not_blank
  check (pg_catalog.btrim(title) <> '') not valid;

alter table public.income_entries drop constraint if exists income_entries_source_not_blank;
alter table public.income_entries add constraint income_entries_source_not_blank
  check (pg_catalog.btrim(source) <> '') not valid;
