-- fct_order_line_item: one row per sales line and per return line of COMPLETED orders.
-- Sales lines: line items, gift cards excluded. Return lines: returns[].return_line_items, gift
-- cards excluded, with every amount and the quantity NEGATED, so sums over all rows are net.
-- OPEN, DRAFT and CANCELED orders count nowhere.
CREATE OR REPLACE TABLE fct_order_line_item AS
WITH completed AS (
    SELECT * FROM int_orders WHERE order_state = 'COMPLETED'
)
SELECT
    li.order_id || ':' || li.uid AS line_item_id,
    li.order_id,
    li.uid AS line_item_uid,
    o.location_id,
    li.catalog_object_id AS item_variation_id,
    o.customer_id,
    o.team_member_id,
    o.business_date,
    o.business_hour,
    o.closed_at,
    o.order_state,
    o.order_source,
    li.item_type,
    false AS is_return,
    CAST(NULL AS VARCHAR) AS returned_line_item_id,
    li.quantity,
    coalesce(li.gross_sales_amount, 0) AS gross_sales_amount,
    coalesce(li.modifiers_amount, 0) AS modifiers_amount,
    coalesce(li.total_discount_amount, 0) AS discount_amount,
    coalesce(li.total_tax_amount, 0) AS tax_amount,
    coalesce(li.additive_tax_amount, 0) AS additive_tax_amount,
    coalesce(li.inclusive_tax_amount, 0) AS inclusive_tax_amount,
    coalesce(li.gross_sales_amount, 0) - coalesce(li.total_discount_amount, 0) AS net_sales_amount,
    coalesce(li.total_amount, 0) AS total_amount,
    li.currency
FROM stg_order_line_items AS li
JOIN completed AS o ON o.order_id = li.order_id
WHERE li.item_type IS DISTINCT FROM 'GIFT_CARD'

UNION ALL BY NAME

SELECT
    r.order_id || ':' || r.uid AS line_item_id,
    r.order_id,
    r.uid AS line_item_uid,
    o.location_id,
    r.catalog_object_id AS item_variation_id,
    o.customer_id,
    o.team_member_id,
    o.business_date,
    o.business_hour,
    o.closed_at,
    o.order_state,
    o.order_source,
    r.item_type,
    true AS is_return,
    CASE
        WHEN r.source_order_id IS NOT NULL AND r.source_line_item_uid IS NOT NULL
            THEN r.source_order_id || ':' || r.source_line_item_uid
    END AS returned_line_item_id,
    -r.quantity AS quantity,
    -coalesce(r.gross_return_amount, 0) AS gross_sales_amount,
    -coalesce(r.modifiers_amount, 0) AS modifiers_amount,
    -coalesce(r.total_discount_amount, 0) AS discount_amount,
    -coalesce(r.total_tax_amount, 0) AS tax_amount,
    -coalesce(r.additive_tax_amount, 0) AS additive_tax_amount,
    -coalesce(r.inclusive_tax_amount, 0) AS inclusive_tax_amount,
    -(coalesce(r.gross_return_amount, 0) - coalesce(r.total_discount_amount, 0)) AS net_sales_amount,
    -coalesce(r.total_amount, 0) AS total_amount,
    r.currency
FROM stg_order_return_line_items AS r
JOIN completed AS o ON o.order_id = r.order_id
WHERE r.item_type IS DISTINCT FROM 'GIFT_CARD'
