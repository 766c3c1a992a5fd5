-- dim_date: one row per calendar day covering every business date in the facts, padded by a year
-- on each side so period-over-period and cumulative metrics have days to look back on (and the
-- semantic layer's time spine).
CREATE OR REPLACE TABLE dim_date AS
WITH bounds AS (
    SELECT
        coalesce(min(business_date), current_date) AS first_day,
        coalesce(max(business_date), current_date) AS last_day
    FROM int_orders
),
days AS (
    SELECT CAST(d AS DATE) AS date_day
    FROM bounds, range(first_day - INTERVAL 366 DAY, last_day + INTERVAL 367 DAY, INTERVAL 1 DAY) AS t(d)
)
SELECT
    date_day,
    CAST(year(date_day) AS INTEGER) AS year,
    CAST(quarter(date_day) AS INTEGER) AS quarter,
    CAST(month(date_day) AS INTEGER) AS month,
    CAST(isoyear(date_day) AS INTEGER) AS iso_year,
    CAST(weekofyear(date_day) AS INTEGER) AS iso_week,
    CAST(day(date_day) AS INTEGER) AS day_of_month,
    CAST(isodow(date_day) AS INTEGER) AS day_of_week,
    dayname(date_day) AS day_name,
    isodow(date_day) IN (6, 7) AS is_weekend,
    CAST(date_trunc('week', date_day) AS DATE) AS week_start,
    CAST(date_trunc('month', date_day) AS DATE) AS month_start
FROM days
