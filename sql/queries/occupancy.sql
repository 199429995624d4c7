-- name: write_report(hospital_code, reported_at, ward_codes, names, bed_classes, capacities, availables, males, females, waitings, only_open, max_open_wards, key_id, username)^
-- One report in one statement: the wards whose stored report is older are upserted, the
-- hospital takes its next version (its row lock orders its reports and no one else's) and
-- the history rows are written; nothing at all when no ward is newer.
--
-- When a ward was newer, it also answers the hospital's new state (`code` to `wards`, as the
-- cache holds it), built by hospital_state(), the hospital_states view's own definition
-- (sql/migrations/013_hospital_state_json.sql), from the statement's snapshot and the rows it
-- wrote: right when no other change of the hospital committed between that snapshot and
-- this statement's lock on the hospital, that is when `version` = `snapshot_version` + 1
-- (the caller reads the state again otherwise).
--
-- Refused as a whole, writing nothing: an inactive hospital (`active` false), a report that
-- would leave the hospital with more than `max_open_wards` open wards (`open_wards` says how
-- many), and with `only_open` a ward that is not open (`missing`: the bridges' "update").
-- An unknown hospital fails the wards' foreign key.
-- not null: version, applied, id_t_tts, active, open_wards, missing
WITH locked AS (
    -- The hospital's row before any of its wards: every writer of a hospital's wards
    -- (write_reports, close_ward) takes them in that order, so two never wait on each other.
    SELECT h.code
    FROM hospitals h
    WHERE h.code = :hospital_code
    FOR NO KEY UPDATE
),
hospital AS (
    -- As the statement's snapshot has it (the lock's row may be newer): the state is built
    -- from that snapshot, so it is the snapshot's version the state is checked against.
    SELECT h AS entry, h.active, h.version
    FROM hospitals h
    WHERE h.code = :hospital_code
),
report AS (
    SELECT r.*
    FROM unnest(:ward_codes::text[], :names::text[], :bed_classes::text[], :capacities::int[],
                :availables::int[], :males::int[], :females::int[], :waitings::int[])
         AS r (ward_code, name, bed_class, capacity, available,
               available_male, available_female, waiting)
),
open_now AS (
    SELECT w.ward_code
    FROM wards w
    WHERE w.hospital_code IN (SELECT code FROM locked) AND w.closed_at IS NULL
),
checks AS (
    SELECT coalesce((SELECT active FROM hospital), true) AS active,
           (SELECT count(*) FROM open_now o
            WHERE o.ward_code <> ALL (:ward_codes::text[])) + cardinality(:ward_codes::text[])
               AS open_wards,
           (SELECT count(*) FROM report r
            WHERE r.ward_code NOT IN (SELECT ward_code FROM open_now)) AS missing
),
accepted AS (
    SELECT r.*
    FROM report r, checks c
    WHERE c.active AND c.open_wards <= :max_open_wards AND (NOT :only_open OR c.missing = 0)
    -- The same order in every report: two reports of one hospital lock its wards alike.
    ORDER BY r.ward_code
),
applied AS (
    INSERT INTO wards AS w
        (hospital_code, ward_code, name, bed_class, capacity, available,
         available_male, available_female, waiting, reported_at, received_at, closed_at)
    SELECT :hospital_code, a.ward_code, coalesce(a.name, a.ward_code), a.bed_class, a.capacity,
           a.available,
           a.available_male, a.available_female, a.waiting, :reported_at, now(), NULL
    FROM accepted a
    ON CONFLICT (hospital_code, ward_code) DO UPDATE
    -- A report without a name keeps the ward's.
    SET name = coalesce((SELECT a.name FROM accepted a WHERE a.ward_code = w.ward_code), w.name),
        bed_class = EXCLUDED.bed_class,
        capacity = EXCLUDED.capacity,
        available = EXCLUDED.available,
        available_male = EXCLUDED.available_male,
        available_female = EXCLUDED.available_female,
        waiting = EXCLUDED.waiting,
        reported_at = EXCLUDED.reported_at,
        received_at = EXCLUDED.received_at,
        closed_at = NULL
    WHERE w.reported_at < EXCLUDED.reported_at
    RETURNING w.ward_code, w.id_t_tt, w.name, w.bed_class, w.capacity, w.available,
              w.available_male, w.available_female, w.waiting, w.reported_at, w.received_at,
              w AS ward
),
bumped AS (
    UPDATE hospitals
    SET version = version + 1
    WHERE code = :hospital_code AND EXISTS (SELECT FROM applied)
    RETURNING version
),
history AS (
    INSERT INTO occupancy_history
        (version, hospital_code, ward_code, bed_class, change, capacity, available,
         available_male, available_female, waiting, reported_at, received_at, key_id,
         username)
    SELECT b.version, :hospital_code, a.ward_code, a.bed_class, 'report', a.capacity,
           a.available, a.available_male, a.available_female, a.waiting, a.reported_at,
           a.received_at, :key_id, :username
    FROM applied a, bumped b
)
SELECT coalesce((SELECT version FROM bumped), h.version, 0) AS version,
       coalesce(written.ward_codes, '{}') AS applied,
       coalesce(written.id_t_tts, '{}') AS id_t_tts,
       c.active, c.open_wards, c.missing,
       h.version AS snapshot_version, :hospital_code AS code, s.name, s.kind, s.region_code,
       s.address, s.phone, s.lat, s.lon, s.wards
FROM checks c
LEFT JOIN hospital h ON true
CROSS JOIN (
    SELECT array_agg(a.ward_code) AS ward_codes, array_agg(a.id_t_tt) AS id_t_tts,
           array_agg(a.ward) AS wards
    FROM applied a
) written
LEFT JOIN LATERAL (
    -- Nothing written, nothing built: a stale report pays for no state. (OFFSET 0 keeps
    -- this subquery from being merged into the join, where its WHERE would only be checked
    -- after the state was built.)
    SELECT s.name, s.kind, s.region_code, s.address, s.phone, s.lat, s.lon, s.wards
    FROM hospital_state(h.entry, written.wards) s
    WHERE written.wards IS NOT NULL
    OFFSET 0
) s ON true;

-- name: write_reports(hospital_codes, reports, max_open_wards)
-- The reports of several hospitals (at most one each) in one statement, one commit for all:
-- each written and answered as write_report writes and answers it, one row per hospital.
-- `reports` is a JSON array, one object per report: `hospital_code`, `reported_at`, `key_id`,
-- `username` and `wards` (a report's wards, as pushed); `hospital_codes` names the same
-- hospitals (looked up by index). One JSON text costs the client far less to send than
-- an array per ward field.
--
-- Only the hospitals whose row the statement could lock at once take part: a hospital whose
-- row another transaction holds (another of its reports, say) would hold up every other
-- report here, so it is left out, with no row of it written and none answered; so is an
-- unknown one. The caller writes those with write_report.
-- not null: code, version, applied, id_t_tts, active, open_wards
WITH locked AS (
    SELECT h.code
    FROM hospitals h
    WHERE h.code = ANY (:hospital_codes::text[])
    ORDER BY h.code
    FOR NO KEY UPDATE SKIP LOCKED
),
given AS (
    SELECT r.*
    FROM json_to_recordset(:reports::json)
         AS r (hospital_code text, reported_at timestamptz, key_id text, username text,
               wards json)
),
report AS (
    -- Each hospital as the statement's snapshot has it (see write_report's `hospital`).
    SELECT r.hospital_code, r.reported_at, r.key_id, r.username, h AS entry, h.active,
           h.version
    FROM given r
    JOIN hospitals h ON h.code = r.hospital_code
    WHERE h.code = ANY (:hospital_codes::text[]) AND h.code IN (SELECT code FROM locked)
),
report_wards AS (
    SELECT r.hospital_code, w.*
    FROM given r
    CROSS JOIN LATERAL json_to_recordset(r.wards)
         AS w (ward_code text, name text, bed_class text, capacity int, available int,
               available_male int, available_female int, waiting int)
),
checks AS (
    SELECT r.*,
           (SELECT count(*) FROM wards o
            WHERE o.hospital_code = r.hospital_code AND o.closed_at IS NULL
              AND o.ward_code NOT IN (SELECT n.ward_code FROM report_wards n
                                      WHERE n.hospital_code = r.hospital_code))
           + (SELECT count(*) FROM report_wards n WHERE n.hospital_code = r.hospital_code)
               AS open_wards
    FROM report r
),
accepted AS (
    SELECT n.*, c.reported_at
    FROM report_wards n
    JOIN checks c ON c.hospital_code = n.hospital_code
    WHERE c.active AND c.open_wards <= :max_open_wards
    -- The same order in every statement: two writes lock the wards they share alike.
    ORDER BY n.hospital_code, n.ward_code
),
applied AS (
    INSERT INTO wards AS w
        (hospital_code, ward_code, name, bed_class, capacity, available,
         available_male, available_female, waiting, reported_at, received_at, closed_at)
    SELECT a.hospital_code, a.ward_code, coalesce(a.name, a.ward_code), a.bed_class,
           a.capacity, a.available, a.available_male, a.available_female, a.waiting,
           a.reported_at, now(), NULL
    FROM accepted a
    ON CONFLICT (hospital_code, ward_code) DO UPDATE
    -- A report without a name keeps the ward's (one hashed lookup per ward, however many the
    -- statement writes).
    SET name = CASE WHEN (w.hospital_code, w.ward_code) IN (
                        SELECT a.hospital_code, a.ward_code FROM accepted a WHERE a.name IS NULL)
                    THEN w.name ELSE EXCLUDED.name END,
        bed_class = EXCLUDED.bed_class,
        capacity = EXCLUDED.capacity,
        available = EXCLUDED.available,
        available_male = EXCLUDED.available_male,
        available_female = EXCLUDED.available_female,
        waiting = EXCLUDED.waiting,
        reported_at = EXCLUDED.reported_at,
        received_at = EXCLUDED.received_at,
        closed_at = NULL
    WHERE w.reported_at < EXCLUDED.reported_at
    RETURNING w.hospital_code, w.ward_code, w.id_t_tt, w.bed_class, w.capacity, w.available,
              w.available_male, w.available_female, w.waiting, w.reported_at, w.received_at,
              w AS ward
),
bumped AS (
    UPDATE hospitals h
    SET version = h.version + 1
    WHERE h.code IN (SELECT a.hospital_code FROM applied a)
    RETURNING h.code, h.version
),
history AS (
    INSERT INTO occupancy_history
        (version, hospital_code, ward_code, bed_class, change, capacity, available,
         available_male, available_female, waiting, reported_at, received_at, key_id,
         username)
    SELECT b.version, a.hospital_code, a.ward_code, a.bed_class, 'report', a.capacity,
           a.available, a.available_male, a.available_female, a.waiting, a.reported_at,
           a.received_at, c.key_id, c.username
    FROM applied a
    JOIN bumped b ON b.code = a.hospital_code
    JOIN checks c ON c.hospital_code = a.hospital_code
)
SELECT c.hospital_code AS code, coalesce(b.version, c.version) AS version,
       coalesce(written.ward_codes, '{}') AS applied,
       coalesce(written.id_t_tts, '{}') AS id_t_tts,
       c.active, c.open_wards, c.version AS snapshot_version, s.name, s.kind, s.region_code,
       s.address, s.phone, s.lat, s.lon, s.wards
FROM checks c
LEFT JOIN bumped b ON b.code = c.hospital_code
CROSS JOIN LATERAL (
    SELECT array_agg(a.ward_code) AS ward_codes, array_agg(a.id_t_tt) AS id_t_tts,
           array_agg(a.ward) AS wards
    FROM applied a
    WHERE a.hospital_code = c.hospital_code
) written
LEFT JOIN LATERAL (
    -- As in write_report: nothing written, nothing built.
    SELECT s.name, s.kind, s.region_code, s.address, s.phone, s.lat, s.lon, s.wards
    FROM hospital_state(c.entry, written.wards) s
    WHERE written.wards IS NOT NULL
    OFFSET 0
) s ON true;

-- name: close_ward(hospital_code, ward_code, key_id, username)^
-- Closes an open ward in one statement, with the hospital's next version and a history row;
-- a report older than the closing is stale afterwards. `version` is null when nothing was
-- closed: no such open ward, or an inactive hospital (`active` false).
-- not null: active
WITH locked AS (
    -- The hospital's row before the ward's, as write_report takes them.
    SELECT h.code
    FROM hospitals h
    WHERE h.code = :hospital_code AND h.active
    FOR NO KEY UPDATE
),
closed AS (
    UPDATE wards
    SET closed_at = now(), reported_at = greatest(reported_at, now()), received_at = now()
    WHERE hospital_code IN (SELECT code FROM locked) AND ward_code = :ward_code
      AND closed_at IS NULL
    RETURNING ward_code, bed_class, capacity, available, available_male, available_female,
              waiting, reported_at, received_at
),
bumped AS (
    UPDATE hospitals
    SET version = version + 1
    WHERE code = :hospital_code AND EXISTS (SELECT FROM closed)
    RETURNING version
),
history AS (
    INSERT INTO occupancy_history
        (version, hospital_code, ward_code, bed_class, change, capacity, available,
         available_male, available_female, waiting, reported_at, received_at, key_id,
         username)
    SELECT b.version, :hospital_code, c.ward_code, c.bed_class, 'close', c.capacity,
           c.available, c.available_male, c.available_female, c.waiting, c.reported_at,
           c.received_at, :key_id, :username
    FROM closed c, bumped b
)
SELECT (SELECT version FROM bumped) AS version,
       coalesce((SELECT active FROM hospitals WHERE code = :hospital_code), true) AS active;
