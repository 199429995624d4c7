-- name: upsert_hospital(code, bpjs_ppk_code, name, kind, region_code, address, phone, lat, lon, active)$
-- Creates or updates one hospital; returns true when it was created.
INSERT INTO hospitals AS h
    (code, bpjs_ppk_code, name, kind, region_code, address, phone, lat, lon, active)
VALUES (:code, :bpjs_ppk_code, :name, :kind, :region_code, :address, :phone, :lat, :lon, :active)
ON CONFLICT (code) DO UPDATE
SET bpjs_ppk_code = EXCLUDED.bpjs_ppk_code,
    name = EXCLUDED.name,
    kind = EXCLUDED.kind,
    region_code = EXCLUDED.region_code,
    address = EXCLUDED.address,
    phone = EXCLUDED.phone,
    lat = EXCLUDED.lat,
    lon = EXCLUDED.lon,
    active = EXCLUDED.active,
    updated_at = now()
RETURNING (xmax = 0) AS created;

-- name: get_hospital(code)^
SELECT code, bpjs_ppk_code, name, kind, region_code, address, phone, lat, lon, active
FROM hospitals
WHERE code = :code;

-- name: hospital_state(code)^
-- One active hospital with its open wards, as the cache document is built from it.
SELECT h.code, h.name, h.kind, h.region_code, h.address, h.phone, h.lat, h.lon,
       coalesce(w.wards, '[]'::jsonb) AS wards
FROM hospitals h
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object(
               'ward_code', ward_code, 'name', name, 'bed_class', bed_class,
               'capacity', capacity, 'available', available,
               'available_male', available_male, 'available_female', available_female,
               'waiting', waiting, 'reported_at', reported_at, 'received_at', received_at)
           ORDER BY bc.sort_order, wd.ward_code) AS wards
    FROM wards wd
    JOIN bed_classes bc ON bc.code = wd.bed_class
    WHERE wd.hospital_code = h.code AND wd.closed_at IS NULL
) w ON true
WHERE h.code = :code AND h.active;

-- name: all_hospital_states()
-- Every active hospital with its open wards: the full rebuild of the cache.
SELECT h.code, h.name, h.kind, h.region_code, h.address, h.phone, h.lat, h.lon,
       coalesce(w.wards, '[]'::jsonb) AS wards
FROM hospitals h
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object(
               'ward_code', ward_code, 'name', name, 'bed_class', bed_class,
               'capacity', capacity, 'available', available,
               'available_male', available_male, 'available_female', available_female,
               'waiting', waiting, 'reported_at', reported_at, 'received_at', received_at)
           ORDER BY bc.sort_order, wd.ward_code) AS wards
    FROM wards wd
    JOIN bed_classes bc ON bc.code = wd.bed_class
    WHERE wd.hospital_code = h.code AND wd.closed_at IS NULL
) w ON true
WHERE h.active
ORDER BY h.code;

-- name: hospital_by_ppk_code(bpjs_ppk_code)$
SELECT code FROM hospitals WHERE bpjs_ppk_code = :bpjs_ppk_code;
