-- fct_order: one row per order (every state), with totals, tips, service charges, tender mix and
-- line counts. Money in minor units; business date as in int_orders.
CREATE OR REPLACE TABLE fct_order AS
WITH lines AS (
    SELECT
        order_id,
        count(*) FILTER (WHERE NOT is_return) AS sales_line_count,
        count(*) FILTER (WHERE is_return) AS return_line_count
    FROM fct_order_line_item
    GROUP BY order_id
),
tenders AS (
    SELECT
        order_id,
        count(*) AS tender_count,
        coalesce(sum(amount) FILTER (WHERE type = 'CARD'), 0) AS card_amount,
        coalesce(sum(amount) FILTER (WHERE type = 'CASH'), 0) AS cash_amount,
        coalesce(sum(amount) FILTER (WHERE type NOT IN ('CARD', 'CASH')), 0) AS other_tender_amount,
        coalesce(sum(processing_fee_amount), 0) AS processing_fee_amount
    FROM stg_order_tenders
    GROUP BY order_id
)
SELECT
    o.order_id,
    o.location_id,
    o.customer_id,
    o.team_member_id,
    o.order_state,
    o.order_source,
    o.created_at,
    o.closed_at,
    o.business_date,
    o.business_hour,
    o.currency,
    coalesce(o.total_amount, 0) AS total_amount,
    coalesce(o.total_tax_amount, 0) AS tax_amount,
    coalesce(o.total_discount_amount, 0) AS discount_amount,
    coalesce(o.total_tip_amount, 0) AS tip_amount,
    coalesce(o.total_service_charge_amount, 0) AS service_charge_amount,
    coalesce(l.sales_line_count, 0) AS sales_line_count,
    coalesce(l.return_line_count, 0) AS return_line_count,
    coalesce(l.sales_line_count, 0) > 0 AS has_sales_line,
    coalesce(t.tender_count, 0) AS tender_count,
    coalesce(t.card_amount, 0) AS card_amount,
    coalesce(t.cash_amount, 0) AS cash_amount,
    coalesce(t.other_tender_amount, 0) AS other_tender_amount,
    coalesce(t.processing_fee_amount, 0) AS processing_fee_amount
FROM int_orders AS o
LEFT JOIN lines AS l ON l.order_id = o.order_id
LEFT JOIN tenders AS t ON t.order_id = o.order_id
