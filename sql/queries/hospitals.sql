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
SELECT code, name, kind, region_code, address, phone, lat, lon, wards
FROM hospital_states
WHERE code = :code;

-- name: all_hospital_states()
SELECT code, name, kind, region_code, address, phone, lat, lon, wards
FROM hospital_states
ORDER BY code;

-- name: hospital_by_ppk_code(bpjs_ppk_code)$
SELECT code FROM hospitals WHERE bpjs_ppk_code = :bpjs_ppk_code;
