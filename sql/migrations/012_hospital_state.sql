-- A hospital's state as the cache holds it (bedsvc/store/states.py, HospitalState), defined
-- once: the hospital_states view (the rebuild, the reconciler, a state read again) and
-- write_report (the state written through after a report) both take it from this function,
-- so the state written through and the state rebuilt from PostgreSQL cannot drift apart.
--
-- `hospital` is the hospital's row, whose registry entry the state shows. Its code and version
-- are the caller's to add, as the key of the state: the view's code is the one a lookup
-- filters on (so the filter reaches the hospitals' index), write_report's version the one it
-- takes, not the one it read. `written` are rows of the hospital's wards written by the
-- calling statement: a data-modifying CTE's rows are not in the statement's snapshot, only in
-- its RETURNING, so they stand in for the stored rows of the same wards (a closed one drops
-- out). The view passes none.
--
-- A plain SQL function, STABLE and not STRICT, with one SELECT: called in FROM with no
-- sub-select in its arguments, PostgreSQL inlines it into the calling statement, which then
-- costs what the same SQL written in place would, in the statement's own snapshot. Its body
-- is parsed here (BEGIN ATOMIC), so a column it reads cannot be dropped from under it.
CREATE FUNCTION hospital_state(hospital hospitals, written wards[])
RETURNS TABLE (name text, kind text, region_code text, address text, phone text,
               lat double precision, lon double precision, wards jsonb)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT (hospital).name, (hospital).kind, (hospital).region_code, (hospital).address,
           (hospital).phone, (hospital).lat, (hospital).lon,
           coalesce(jsonb_agg(jsonb_build_object(
               'ward_code', w.ward_code, 'name', w.name, 'bed_class', w.bed_class,
               'capacity', w.capacity, 'available', w.available,
               'available_male', w.available_male, 'available_female', w.available_female,
               'waiting', w.waiting, 'reported_at', w.reported_at,
               'received_at', w.received_at)
           ORDER BY bc.sort_order, w.ward_code), '[]'::jsonb)
    FROM (
        SELECT s.ward_code, s.name, s.bed_class, s.capacity, s.available, s.available_male,
               s.available_female, s.waiting, s.reported_at, s.received_at
        FROM wards s
        WHERE s.hospital_code = (hospital).code AND s.closed_at IS NULL
          AND s.ward_code <> ALL (ARRAY(SELECT n.ward_code FROM unnest(written) n))
        UNION ALL
        SELECT n.ward_code, n.name, n.bed_class, n.capacity, n.available, n.available_male,
               n.available_female, n.waiting, n.reported_at, n.received_at
        FROM unnest(written) n
        WHERE n.closed_at IS NULL
    ) w
    JOIN bed_classes bc ON bc.code = w.bed_class;
END;

-- What the cache holds per listed hospital, as before, now from the function.
CREATE OR REPLACE VIEW hospital_states AS
SELECT h.code, s.name, s.kind, s.region_code, s.address, s.phone, s.lat, s.lon, h.version,
       s.wards
FROM hospitals h
CROSS JOIN LATERAL hospital_state(h, '{}') s
WHERE h.active;
