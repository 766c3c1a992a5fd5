-- dim_item: one row per item variation, with its item and category names.
CREATE OR REPLACE TABLE dim_item AS
SELECT
    v.id AS item_variation_id,
    v.item_id,
    i.name AS item_name,
    v.name AS variation_name,
    c.name AS category_name,
    v.price_amount,
    coalesce(v.is_deleted, false) OR coalesce(i.is_deleted, false) AS is_deleted
FROM stg_catalog_objects AS v
LEFT JOIN stg_catalog_objects AS i ON i.id = v.item_id AND i.type = 'ITEM'
LEFT JOIN stg_catalog_objects AS c ON c.id = i.category_id AND c.type = 'CATEGORY'
WHERE v.type = 'ITEM_VARIATION'
