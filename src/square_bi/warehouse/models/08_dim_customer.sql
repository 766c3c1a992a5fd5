-- dim_customer: every customer Square knows, plus any customer id seen on an order; first order
-- date and cohort month from their COMPLETED orders with a sales line.
CREATE OR REPLACE TABLE dim_customer AS
WITH ordered AS (
    SELECT
        customer_id,
        min(business_date) AS first_order_date,
        count(*) AS order_count
    FROM fct_order
    WHERE customer_id IS NOT NULL AND order_state = 'COMPLETED' AND has_sales_line
    GROUP BY customer_id
),
ids AS (
    SELECT id AS customer_id FROM stg_customers
    UNION
    SELECT customer_id FROM fct_order WHERE customer_id IS NOT NULL
)
SELECT
    ids.customer_id,
    c.given_name,
    c.family_name,
    nullif(trim(concat_ws(' ', c.given_name, c.family_name)), '') AS name,
    c.company_name,
    c.creation_source,
    c.created_at,
    o.first_order_date,
    CAST(date_trunc('month', o.first_order_date) AS DATE) AS cohort_month,
    coalesce(o.order_count, 0) AS order_count
FROM ids
LEFT JOIN stg_customers AS c ON c.id = ids.customer_id
LEFT JOIN ordered AS o ON o.customer_id = ids.customer_id
