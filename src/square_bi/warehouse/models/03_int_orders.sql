-- int_orders: every order with its business date and hour, the ONE place local time is derived.
-- The business moment of an order is when it closed (completed), or, for orders that never closed
-- (OPEN, CANCELED), when it was created; both taken in the order's location time zone (DST-correct).
CREATE OR REPLACE TABLE int_orders AS
WITH order_team AS (
    -- Orders carry no team member; their payments do. The first payment's member rang the order up.
    SELECT t.order_id, first(p.team_member_id ORDER BY p.created_at, p.id) AS team_member_id
    FROM stg_order_tenders AS t
    JOIN stg_payments AS p ON p.id = t.payment_id
    WHERE p.team_member_id IS NOT NULL
    GROUP BY t.order_id
),
orders AS (
    SELECT
        o.id AS order_id,
        o.location_id,
        o.customer_id,
        ot.team_member_id,
        o.state AS order_state,
        o.source_name AS order_source,
        o.created_at,
        o.closed_at,
        o.currency,
        o.total_amount,
        o.total_tax_amount,
        o.total_discount_amount,
        o.total_tip_amount,
        o.total_service_charge_amount,
        timezone(coalesce(l.timezone, 'UTC'), timezone('UTC', coalesce(o.closed_at, o.created_at))) AS local_at
    FROM stg_orders AS o
    LEFT JOIN stg_locations AS l ON l.id = o.location_id
    LEFT JOIN order_team AS ot ON ot.order_id = o.id
)
SELECT
    * EXCLUDE (local_at),
    CAST(local_at AS DATE) AS business_date,
    CAST(hour(local_at) AS INTEGER) AS business_hour
FROM orders
