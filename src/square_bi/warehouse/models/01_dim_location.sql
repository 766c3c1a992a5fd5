-- dim_location: one row per Square location (active and inactive).
CREATE OR REPLACE TABLE dim_location AS
SELECT
    id AS location_id,
    name,
    timezone,
    currency,
    status,
    city
FROM stg_locations
