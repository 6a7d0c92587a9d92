-- Shop orders are priced by the database, and only the service role moves them along.
--
-- Until now a person could insert, through Supabase's REST API, an order with status 'paid',
-- unit price 0.01 and total 0, then set it 'shipped' and 'refunded', for inactive products
-- too. From here on:
--   * a person may write only user_id, product_id and quantity of a new order (column
--     privileges); the status starts as 'pending' (the insert policy also requires it);
--   * a BEFORE INSERT trigger prices every order from the catalogue: unit_price is the
--     product's sale price, or its price, total = unit_price * quantity, the currency is the
--     product's. An inactive product, or one with less stock than the quantity, is refused;
--   * quantity is 1 to 100 (a shop for travellers; a bigger order goes through support);
--   * total = unit_price * quantity always holds (a CHECK), for every writer;
--   * a person may change only the status, and only from 'pending' to 'cancelled' (their own
--     order); paid, shipped, delivered and refunded are set by the service role, which
--     bypasses RLS; a person may delete only an order that is pending or cancelled.
-- Stock is not reserved by a pending order: payment (the service role) settles stock.
--
-- Existing orders that break the new checks (a forged total, a quantity over 100) make this
-- migration fail, naming the rule and the query that lists them; they need a person's
-- judgement (refund? cancel?), not a silent fix. Correct or delete them as the service
-- role, then run it again.
--
-- Re-runnable: create or replace, drop ... if exists, constraints added only when missing.

create or replace function pg_temp.add_rule(p_table regclass, p_name text, p_check text)
returns void
language plpgsql
as $$
declare
  v_bad bigint;
begin
  if exists (select 1 from pg_catalog.pg_constraint where conrelid = p_table and conname = p_name) then
    return;
  end if;
  execute format('select count(*) from %s where not (%s)', p_table, p_check) into v_bad;
  if v_bad > 0 then
    raise exception '% row(s) of % break the rule % (%)', v_bad, p_table, p_name, p_check
      using errcode = '23514',
            hint = format('List them with: select * from %s where not (%s); correct or delete them '
                          '(as the service role), then run this migration again.', p_table, p_check);
  end if;
  execute format('alter table %s add constraint %I check (%s)', p_table, p_name, p_check);
end;
$$;

select pg_temp.add_rule('public.shop_orders', 'shop_orders_quantity_at_most', 'quantity <= 100');
select pg_temp.add_rule('public.shop_orders', 'shop_orders_unit_price_at_most', 'unit_price <= 1000000');
select pg_temp.add_rule('public.shop_orders', 'shop_orders_total_is_price_times_quantity',
                        'total = unit_price * quantity');

drop function pg_temp.add_rule(regclass, text, text);

create or replace function public.price_shop_order()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_product record;
begin
  select p.price, p.sale_price, p.currency, p.stock, p.active
    into v_product
    from public.shop_products as p
   where p.id = new.product_id;
  if not found then
    raise exception 'shop_orders: product % does not exist', new.product_id
      using errcode = '23503';
  end if;
  if not v_product.active then
    raise exception 'shop_orders: product % is not for sale', new.product_id
      using errcode = '23514', hint = 'Only active products (v_shop_products) can be ordered.';
  end if;
  if new.quantity is null or v_product.stock < new.quantity then
    raise exception 'shop_orders: only % of product % in stock', v_product.stock, new.product_id
      using errcode = '23514';
  end if;
  new.unit_price := coalesce(v_product.sale_price, v_product.price);
  new.total := new.unit_price * new.quantity;
  new.currency := v_product.currency;
  return new;
end;
$$;

comment on function public.price_shop_order() is
  'Trigger function: prices a new shop order from the catalogue; refuses inactive or out-of-stock products.';

revoke execute on function public.price_shop_order() from public, anon, authenticated;
grant execute on function public.price_shop_order() to service_role;

drop trigger if exists price_shop_order on public.shop_orders;
create trigger price_shop_order before insert on public.shop_orders
  for each row execute function public.price_shop_order();

-- A person writes only these columns; everything else is the database's or the service role's.
revoke insert, update on table public.shop_orders from authenticated;
grant insert (user_id, product_id, quantity) on table public.shop_orders to authenticated;
grant update (status) on table public.shop_orders to authenticated;

drop policy if exists "Users can add their own orders" on public.shop_orders;
create policy "Users can add their own orders" on public.shop_orders
  for insert to authenticated
  with check ((select auth.uid()) = user_id and status = 'pending');

drop policy if exists "Users can update their own orders" on public.shop_orders;
drop policy if exists "Users can cancel their own pending orders" on public.shop_orders;
create policy "Users can cancel their own pending orders" on public.shop_orders
  for update to authenticated
  using ((select auth.uid()) = user_id and status = 'pending')
  with check ((select auth.uid()) = user_id and status = 'cancelled');

drop policy if exists "Users can delete their own orders" on public.shop_orders;
drop policy if exists "Users can delete their own unpaid orders" on public.shop_orders;
create policy "Users can delete their own unpaid orders" on public.shop_orders
  for delete to authenticated
  using ((select auth.uid()) = user_id and status in ('pending', 'cancelled'));

comment on table public.shop_orders is
  'own: the user''s shop orders, priced by the database; users create pending orders and may cancel them';
