-- Versions per hospital instead of one counter row shared by every report.
--
-- A change to a hospital takes the next version of that hospital, under its own row lock, so
-- reports of one hospital are ordered and reports of different hospitals never wait for each
-- other. The sum of all hospitals' versions (inactive ones included) grows by at least one
-- with every change: it is the service's global version (see README, "How a change travels").

ALTER TABLE hospitals ADD COLUMN version bigint NOT NULL DEFAULT 0 CHECK (version >= 0);

-- Carry the existing state over: each hospital starts at the global version of its last
-- change, so every version a client saw before stays below what it sees after.
UPDATE hospitals h
SET version = coalesce((SELECT max(w.version) FROM wards w WHERE w.hospital_code = h.code), 0);

-- The history row of a change carries the hospital's version; the ward row needs none.
ALTER TABLE wards DROP COLUMN version;
DROP TABLE change_counter;

-- What the cache holds per listed hospital, now with the hospital's version.
DROP VIEW hospital_states;
CREATE VIEW hospital_states AS
SELECT h.code, h.name, h.kind, h.region_code, h.address, h.phone, h.lat, h.lon, h.version,
       coalesce(w.wards, '[]'::jsonb) AS wards
FROM hospitals h
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object(
               'ward_code', wd.ward_code, 'name', wd.name, 'bed_class', wd.bed_class,
               'capacity', wd.capacity, 'available', wd.available,
               'available_male', wd.available_male, 'available_female', wd.available_female,
               'waiting', wd.waiting, 'reported_at', wd.reported_at,
               'received_at', wd.received_at)
           ORDER BY bc.sort_order, wd.ward_code) AS wards
    FROM wards wd
    JOIN bed_classes bc ON bc.code = wd.bed_class
    WHERE wd.hospital_code = h.code AND wd.closed_at IS NULL
) w ON true
WHERE h.active;

