-- fct_payment: one row per payment, with its business date in the location's time zone.
CREATE OR REPLACE TABLE fct_payment AS
SELECT
    p.id AS payment_id,
    p.order_id,
    p.location_id,
    p.customer_id,
    p.team_member_id,
    p.status,
    p.source_type,
    p.card_brand,
    p.created_at,
    CAST(timezone(coalesce(l.timezone, 'UTC'), timezone('UTC', p.created_at)) AS DATE) AS business_date,
    p.currency,
    coalesce(p.amount, 0) AS amount,
    coalesce(p.tip_amount, 0) AS tip_amount,
    coalesce(p.total_amount, 0) AS total_amount,
    coalesce(p.refunded_amount, 0) AS refunded_amount,
    coalesce(p.processing_fee_amount, 0) AS processing_fee_amount
FROM stg_payments AS p
LEFT JOIN stg_locations AS l ON l.id = p.location_id
