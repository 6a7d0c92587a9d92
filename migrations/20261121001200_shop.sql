-- The shop: product catalog, the v_shop_products view (security_invoker, so the caller's
-- privileges and RLS apply), the user's orders and (service-only) affiliate sales.
--
-- Re-runnable: every statement is idempotent (if not exists / drop-if-exists / or replace).

-- ===========================================================================
-- public.shop_products  (shared_read)
-- ===========================================================================

create table if not exists public.shop_products (
  id uuid primary key default gen_random_uuid(),
  sku text unique,
  name text not null check (char_length(name) between 1 and 200),
  description text,
  category text,
  image_url text,
  affiliate_url text,
  price numeric(12,2) not null check (price > 0),
  currency char(3) not null default 'AUD' check (currency ~ '^[A-Z]{3}$'),
  sale_price numeric(12,2) check (sale_price is null or (sale_price > 0 and sale_price <= price)),
  stock integer not null default 0 check (stock >= 0),
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists shop_products_active_category_idx on public.shop_products (active, category);

drop trigger if exists set_updated_at on public.shop_products;
create trigger set_updated_at before update on public.shop_products
  for each row execute function public.set_updated_at();

alter table public.shop_products enable row level security;

revoke all on table public.shop_products from anon, authenticated;
grant select on table public.shop_products to authenticated;
grant all on table public.shop_products to service_role;

drop policy if exists "Signed-in users can read shop products" on public.shop_products;
create policy "Signed-in users can read shop products" on public.shop_products
  for select to authenticated
  using (true);

comment on table public.shop_products is 'shared_read: products sold in the shop (price, sale price, stock)';

-- ===========================================================================
-- public.v_shop_products  (view over active products, with computed fields)
-- ===========================================================================
create or replace view public.v_shop_products
with (security_invoker = true)
as
select
  p.id,
  p.sku,
  p.name,
  p.description,
  p.category,
  p.image_url,
  p.affiliate_url,
  p.currency,
  p.price,
  p.sale_price,
  coalesce(p.sale_price, p.price) as effective_price,
  case
    when p.sale_price is not null and p.sale_price < p.price
      then round(100 * (p.price - p.sale_price) / p.price, 0)
    else 0
  end::integer as discount_percent,
  p.stock,
  p.stock > 0 as in_stock,
  p.created_at,
  p.updated_at
from public.shop_products as p
where p.active;

revoke all on table public.v_shop_products from anon, authenticated;
grant select on table public.v_shop_products to authenticated;
grant all on table public.v_shop_products to service_role;

comment on view public.v_shop_products is
  'shared_read: active shop products with effective_price, discount_percent and in_stock (security_invoker).';

-- ===========================================================================
-- public.shop_orders  (own)
-- ===========================================================================

create table if not exists public.shop_orders (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  product_id uuid not null references public.shop_products (id) on delete restrict,
  quantity integer not null default 1 check (quantity > 0),
  unit_price numeric(12,2) not null check (unit_price > 0),
  total numeric(12,2) not null check (total >= 0),
  currency char(3) not null default 'AUD' check (currency ~ '^[A-Z]{3}$'),
  status text not null default 'pending' check (status in ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists shop_orders_user_created_idx on public.shop_orders (user_id, created_at desc);

create index if not exists shop_orders_product_id_idx on public.shop_orders (product_id);

drop trigger if exists set_updated_at on public.shop_orders;
create trigger set_updated_at before update on public.shop_orders
  for each row execute function public.set_updated_at();

alter table public.shop_orders enable row level security;

revoke all on table public.shop_orders from anon, authenticated;
grant select, insert, update, delete on table public.shop_orders to authenticated;
grant all on table public.shop_orders to service_role;

drop policy if exists "Users can read their own orders" on public.shop_orders;
create policy "Users can read their own orders" on public.shop_orders
  for select to authenticated
  using ((select auth.uid()) = user_id);

drop policy if exists "Users can add their own orders" on public.shop_orders;
create policy "Users can add their own orders" on public.shop_orders
  for insert to authenticated
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can update their own orders" on public.shop_orders;
create policy "Users can update their own orders" on public.shop_orders
  for update to authenticated
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);

drop policy if exists "Users can delete their own orders" on public.shop_orders;
create policy "Users can delete their own orders" on public.shop_orders
  for delete to authenticated
  using ((select auth.uid()) = user_id);

comment on table public.shop_orders is 'own: the user''s shop orders';

-- ===========================================================================
-- public.affiliate_sales  (service_only)
-- ===========================================================================

create table if not exists public.affiliate_sales (
  id uuid primary key default gen_random_uuid(),
  user_id uuid references auth.users (id) on delete set null,
  product_id uuid references public.shop_products (id) on delete set null,
  partner text not null check (char_length(partner) between 1 and 100),
  order_ref text not null,
  sale_amount numeric(12,2) not null check (sale_amount > 0),
  commission numeric(12,2) not null default 0 check (commission >= 0),
  currency char(3) not null default 'AUD' check (currency ~ '^[A-Z]{3}$'),
  status text not null default 'pending' check (status in ('pending', 'approved', 'paid', 'reversed')),
  sold_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint affiliate_sales_partner_order_ref_key unique (partner, order_ref)
);

create index if not exists affiliate_sales_user_sold_at_idx on public.affiliate_sales (user_id, sold_at);

create index if not exists affiliate_sales_product_id_idx on public.affiliate_sales (product_id);

drop trigger if exists set_updated_at on public.affiliate_sales;
create trigger set_updated_at before update on public.affiliate_sales
  for each row execute function public.set_updated_at();

alter table public.affiliate_sales enable row level security;

revoke all on table public.affiliate_sales from anon, authenticated;
grant all on table public.affiliate_sales to service_role;

drop policy if exists "Only the service role can access affiliate sales" on public.affiliate_sales;
create policy "Only the service role can access affiliate sales" on public.affiliate_sales
  for all to service_role
  using (true)
  with check (true);

comment on table public.affiliate_sales is 'service_only: commissions from affiliate partners (written by back-office jobs)';
