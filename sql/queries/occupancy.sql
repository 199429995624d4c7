-- name: current_version()$
SELECT version FROM change_counter;

-- name: lock_next_version()$
-- Locks the counter row until commit: ingest transactions take their version in commit order.
SELECT version + 1 FROM change_counter FOR UPDATE;

-- name: set_version(version)!
UPDATE change_counter SET version = :version;

-- name: apply_report(hospital_code, version, reported_at, ward_codes, names, bed_classes, capacities, availables, males, females, waitings)
-- Upserts the reported wards whose stored report is older; returns the ward codes it changed.
INSERT INTO wards AS w
    (hospital_code, ward_code, name, bed_class, capacity, available,
     available_male, available_female, waiting, reported_at, received_at, version, closed_at)
SELECT :hospital_code, r.ward_code, r.name, r.bed_class, r.capacity, r.available,
       r.available_male, r.available_female, r.waiting, :reported_at, now(), :version, NULL
FROM unnest(:ward_codes::text[], :names::text[], :bed_classes::text[], :capacities::int[],
            :availables::int[], :males::int[], :females::int[], :waitings::int[])
     AS r (ward_code, name, bed_class, capacity, available,
           available_male, available_female, waiting)
ON CONFLICT (hospital_code, ward_code) DO UPDATE
SET name = EXCLUDED.name,
    bed_class = EXCLUDED.bed_class,
    capacity = EXCLUDED.capacity,
    available = EXCLUDED.available,
    available_male = EXCLUDED.available_male,
    available_female = EXCLUDED.available_female,
    waiting = EXCLUDED.waiting,
    reported_at = EXCLUDED.reported_at,
    received_at = EXCLUDED.received_at,
    version = EXCLUDED.version,
    closed_at = NULL
WHERE w.reported_at < EXCLUDED.reported_at
RETURNING w.ward_code;

-- name: close_ward(hospital_code, ward_code, version)$
-- Closes an open ward; a report older than the closing is stale afterwards.
UPDATE wards
SET closed_at = now(), reported_at = greatest(reported_at, now()), received_at = now(),
    version = :version
WHERE hospital_code = :hospital_code AND ward_code = :ward_code AND closed_at IS NULL
RETURNING ward_code;

-- name: record_history(version, hospital_code, ward_codes, change, key_id)!
INSERT INTO occupancy_history
    (version, hospital_code, ward_code, bed_class, change, capacity, available,
     available_male, available_female, waiting, reported_at, received_at, key_id)
SELECT :version, hospital_code, ward_code, bed_class, :change, capacity, available,
       available_male, available_female, waiting, reported_at, received_at, :key_id
FROM wards
WHERE hospital_code = :hospital_code AND ward_code = ANY(:ward_codes::text[]);

-- name: ward_history(hospital_code, ward_code)
SELECT version, change, capacity, available, reported_at, key_id
FROM occupancy_history
WHERE hospital_code = :hospital_code AND ward_code = :ward_code
ORDER BY version;
