-- fct_refund: one row per refund of a payment, with its business date in the location's time zone.
CREATE OR REPLACE TABLE fct_refund AS
SELECT
    r.id AS refund_id,
    r.payment_id,
    r.order_id,
    r.location_id,
    r.team_member_id,
    r.status,
    r.reason,
    r.created_at,
    CAST(timezone(coalesce(l.timezone, 'UTC'), timezone('UTC', r.created_at)) AS DATE) AS business_date,
    r.currency,
    coalesce(r.amount, 0) AS amount,
    coalesce(r.processing_fee_amount, 0) AS processing_fee_amount
FROM stg_refunds AS r
LEFT JOIN stg_locations AS l ON l.id = r.location_id
