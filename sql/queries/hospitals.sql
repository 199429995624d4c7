-- name: upsert_hospital(code, bpjs_ppk_code, name, kind, region_code, address, phone, lat, lon, active)^
-- Creates or updates one hospital with its next version (its public listing changes);
-- `created` is true for a new one.
-- not null: created
INSERT INTO hospitals AS h
    (code, bpjs_ppk_code, name, kind, region_code, address, phone, lat, lon, active, version)
VALUES (:code, :bpjs_ppk_code, :name, :kind, :region_code, :address, :phone, :lat, :lon, :active,
        1)
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
    updated_at = now(),
    version = h.version + 1
RETURNING (xmax = 0) AS created, h.version;

-- name: get_hospital(code)^
SELECT code, bpjs_ppk_code, name, kind, region_code, address, phone, lat, lon, active
FROM hospitals
WHERE code = :code;

-- name: hospital_state(code)^
-- One hospital as the cache holds it, or its version alone when it is not listed (inactive):
-- the state and the version come from one snapshot, so they always agree.
SELECT h.code, h.version, s.name, s.kind, s.region_code, s.address, s.phone, s.lat, s.lon,
       s.wards
FROM hospitals h
LEFT JOIN hospital_states s ON s.code = h.code
WHERE h.code = :code;

-- name: hospital_states(codes)
-- These hospitals as the cache holds them (those listed).
SELECT code, version, name, kind, region_code, address, phone, lat, lon, wards
FROM hospital_states
WHERE code = ANY(:codes::text[]);

-- name: all_hospital_states()
SELECT code, version, name, kind, region_code, address, phone, lat, lon, wards
FROM hospital_states
ORDER BY code;

-- name: global_version()$
-- The sum of every hospital's version: what a worker that is current shows.
SELECT coalesce(sum(version), 0)::bigint FROM hospitals;

-- name: hospital_versions()
-- Every hospital's version, listed or not: their sum is the global version.
SELECT code, version FROM hospitals;

-- name: hospital_by_ppk_code(bpjs_ppk_code)$
SELECT code FROM hospitals WHERE bpjs_ppk_code = :bpjs_ppk_code;
