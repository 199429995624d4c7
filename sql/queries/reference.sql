-- name: list_bed_classes()
SELECT code, name_id, name_en, aplicares_codes, sirs_ids, edxl_bed_types, is_intensive
FROM bed_classes
ORDER BY sort_order;

-- name: ensure_region(code, name)!
INSERT INTO regions (code, name)
VALUES (:code, :name)
ON CONFLICT (code) DO UPDATE SET name = coalesce(EXCLUDED.name, regions.name);

-- name: ping()$
SELECT 1;
