-- fct_order_line_item: one row per sales line (line items of COMPLETED orders, gift cards excluded).
-- The business date and hour are the order's closed_at in its location's time zone (DST-correct):
-- the only place in the warehouse where local time is derived.
CREATE OR REPLACE TABLE fct_order_line_item AS
WITH orders AS (
    SELECT
        o.id,
        o.location_id,
        o.state,
        o.closed_at,
        timezone(coalesce(l.timezone, 'UTC'), timezone('UTC', o.closed_at)) AS closed_at_local
    FROM stg_orders AS o
    LEFT JOIN stg_locations AS l ON l.id = o.location_id
    WHERE o.state = 'COMPLETED' AND o.closed_at IS NOT NULL
)
SELECT
    li.order_id || ':' || li.uid AS line_item_id,
    li.order_id,
    li.uid AS line_item_uid,
    o.location_id,
    li.catalog_object_id AS item_variation_id,
    CAST(o.closed_at_local AS DATE) AS business_date,
    CAST(hour(o.closed_at_local) AS INTEGER) AS business_hour,
    o.closed_at,
    o.state AS order_state,
    li.item_type,
    false AS is_return,
    li.quantity,
    coalesce(li.gross_sales_amount, 0) AS gross_sales_amount,
    coalesce(li.total_discount_amount, 0) AS discount_amount,
    coalesce(li.total_tax_amount, 0) AS tax_amount,
    coalesce(li.gross_sales_amount, 0) - coalesce(li.total_discount_amount, 0) AS net_sales_amount,
    coalesce(li.total_amount, 0) AS total_amount,
    li.currency
FROM stg_order_line_items AS li
JOIN orders AS o ON o.id = li.order_id
WHERE li.item_type IS DISTINCT FROM 'GIFT_CARD'
